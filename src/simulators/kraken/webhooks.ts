/**
 * Webhook delivery as Kraken describes it (PROVIDERS.md §1.8, rule 6): an event goes to every
 * registration that is `enabled` and subscribed to it (none → recorded as `no_url`). Envelope
 * `{event_type, iiban, id, timestamp}` (RFC3339 with nanoseconds), headers
 * `X-Signature: t=<unix s>,v1=<hex HMAC-SHA256("{t}.{raw}") keyed with the base64-decoded secret>`,
 * `X-Webhook-Event` and `X-Webhook-ID` (the registration id). A non-2xx answer, a network error or
 * more than 30 s gets retries with exponential backoff for at most `retryWindowMs` (5 min in
 * production); every attempt is signed afresh, and a registration disabled or deleted meanwhile
 * gets no more attempts. Faults: drop / duplicate / reorder; rotation signs with both secrets.
 */
import { createHmac } from 'node:crypto';
import type { Clock } from '../../lib/clock.js';
import { httpRequest } from '../../lib/http.js';
import { nodeFetch } from '../../lib/node-fetch.js';
import { roll, type SimFaults } from '../shared/faults.js';
import type { TaskTracker } from '../shared/tasks.js';
import type { KrakenState } from './state.js';
import type { DeliveryRecord, KrakenWebhookEvent, KrakenWebhookRegistration } from './types.js';

const DELIVERY_TIMEOUT_MS = 30_000;
const MIN_REORDER_BASE_MS = 100;
/** Backoff base = window / 300: 1 s, 2 s, 4 s, … for the production 5 minutes. */
const WINDOW_TO_BASE = 300;
const TEST_MESSAGE = 'This is a test webhook event to verify your endpoint configuration.';
const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export interface OutgoingEvent {
  event: KrakenWebhookEvent;
  iiban?: string;
}

/** What `POST /b2b/webhooks/{id}/test` reports about its one delivery. */
export interface TestDelivery {
  testId: string;
  payloadSent: string;
  signatureHeader: string;
  httpStatus?: number;
  responseBody?: string;
  errorMessage?: string;
}

export interface WebhookDispatcher {
  emit(events: OutgoingEvent[], normalDelayMs: number): void;
  /** `webhook.test` to one registration, once, whether or not it is enabled or subscribed. */
  test(registration: KrakenWebhookRegistration): Promise<TestDelivery>;
  /** `webhook.test` to every enabled registration (the control surface's test button). */
  testAll(): void;
  rotateSecret(newSecret: string, overlapMs: number): void;
}

export interface WebhookDeps {
  tasks: TaskTracker;
  state: KrakenState;
  clock: Clock;
  random: () => number;
  faults: () => SimFaults;
  retryWindowMs: number;
  secret: string;
  logger?: { warn(obj: object, msg?: string): void };
}

interface Prepared {
  eventId: string;
  event: KrakenWebhookEvent;
  iiban?: string;
  body: string;
}

export function signKrakenWebhookBody(secretB64: string, t: number | string, body: string): string {
  return createHmac('sha256', Buffer.from(secretB64, 'base64'))
    .update(`${t}.${body}`, 'utf8')
    .digest('hex');
}

const ok = (status: number | 'error'): boolean =>
  status !== 'error' && status >= 200 && status < 300;

export function createWebhookDispatcher(deps: WebhookDeps): WebhookDispatcher {
  let current = deps.secret;
  let previous: { secret: string; until: number } | undefined;
  const base = Math.max(1, deps.retryWindowMs / WINDOW_TO_BASE);

  const signatureHeader = (body: string): string => {
    const t = Math.floor(deps.clock.now().getTime() / 1000);
    const secrets =
      previous && deps.clock.now().getTime() < previous.until
        ? [current, previous.secret]
        : [current];
    return [`t=${t}`, ...secrets.map((s) => `v1=${signKrakenWebhookBody(s, t, body)}`)].join(',');
  };

  const record = (
    p: Prepared,
    to: string | undefined,
    status: DeliveryRecord['status'],
    attempt: number,
    copy: number,
    gaveUp = false,
  ): void => {
    deps.state.deliveries.push({
      eventId: p.eventId,
      event: p.event,
      ...(p.iiban ? { iiban: p.iiban } : {}),
      ...(to ? { webhookId: to } : {}),
      status,
      attempt,
      copy,
      ...(gaveUp ? { gaveUp } : {}),
      at: deps.state.nowIso(),
    });
  };

  const post = async (
    target: KrakenWebhookRegistration,
    p: Prepared,
  ): Promise<{ status: number | 'error'; signature: string; text?: string; error?: string }> => {
    const signature = signatureHeader(p.body);
    try {
      const res = await httpRequest(nodeFetch, {
        method: 'POST',
        url: target.url,
        headers: {
          'content-type': 'application/json',
          'x-signature': signature,
          'x-webhook-event': p.event,
          'x-webhook-id': target.id,
          'user-agent': 'kraken-simulator',
        },
        body: p.body,
        operation: 'webhook',
        timeoutMs: DELIVERY_TIMEOUT_MS,
        signal: deps.tasks.signal,
      });
      const text = res.text;
      return { status: res.status, signature, text };
    } catch (err) {
      return { status: 'error', signature, error: err instanceof Error ? err.message : 'error' };
    }
  };

  /** Still enabled and subscribed (a retry goes nowhere once the partner switched it off). */
  const active = (id: string, event: KrakenWebhookEvent): KrakenWebhookRegistration | undefined => {
    const r = deps.state.webhooks.get(id);
    return r?.enabled && (event === 'webhook.test' || r.subscribed_events.includes(event))
      ? r
      : undefined;
  };

  /** Attempt `n` to one registration; `spentMs` is the backoff already waited. */
  const attempt = async (
    p: Prepared,
    to: string,
    copy: number,
    n: number,
    spentMs: number,
  ): Promise<void> => {
    if (deps.tasks.closed) return;
    const target = active(to, p.event);
    if (!target) return record(p, to, 'no_url', n, copy);
    const { status } = await post(target, p);
    if (deps.tasks.closed) return;
    if (ok(status)) return record(p, to, status, n, copy);
    const wait = base * 2 ** (n - 1);
    const gaveUp = spentMs + wait > deps.retryWindowMs;
    record(p, to, status, n, copy, gaveUp);
    if (!gaveUp) deps.tasks.after(wait, () => attempt(p, to, copy, n + 1, spentMs + wait));
  };

  const sendCopies = async (p: Prepared, targets: string[], copies: number): Promise<void> => {
    if (targets.length === 0) return record(p, undefined, 'no_url', 1, 1);
    for (let copy = 1; copy <= copies; copy += 1) {
      for (const to of targets) await attempt(p, to, copy, 1, 0);
    }
  };

  const newEventId = (): string => {
    const part = (len: number): string =>
      Array.from(
        { length: len },
        () => ID_CHARS[Math.floor(deps.random() * ID_CHARS.length)] ?? 'A',
      ).join('');
    return `${part(6)}-${part(5)}-${part(6)}`;
  };

  const prepare = (e: OutgoingEvent): Prepared => {
    const eventId = newEventId();
    const body =
      e.event === 'webhook.test'
        ? JSON.stringify({ event_type: e.event, message: TEST_MESSAGE })
        : JSON.stringify({
            event_type: e.event,
            iiban: e.iiban,
            id: eventId,
            timestamp: deps.state.nowNanos(),
          });
    return { eventId, event: e.event, ...(e.iiban ? { iiban: e.iiban } : {}), body };
  };

  const targetsOf = (event: KrakenWebhookEvent): string[] =>
    [...deps.state.webhooks.values()].flatMap((r) => (active(r.id, event) ? [r.id] : []));

  const emit = (events: OutgoingEvent[], normalDelayMs: number): void => {
    const inOrder: Array<{ p: Prepared; targets: string[]; copies: number }> = [];
    for (const e of events) {
      const p = prepare(e);
      const targets = targetsOf(e.event);
      const f = deps.faults();
      if (targets.length > 0 && roll(f.drop, deps.random)) {
        record(p, undefined, 'dropped', 1, 1);
        continue;
      }
      const copies = roll(f.duplicate, deps.random) ? 2 : 1;
      if (roll(f.reorder, deps.random)) {
        const holdBack = Math.max(MIN_REORDER_BASE_MS, normalDelayMs) * (0.5 + 2.5 * deps.random());
        deps.tasks.after(holdBack, () => sendCopies(p, targets, copies));
      } else {
        inOrder.push({ p, targets, copies });
      }
    }
    if (inOrder.length === 0) return;
    const run = async (): Promise<void> => {
      for (const { p, targets, copies } of inOrder) await sendCopies(p, targets, copies);
    };
    void deps.tasks
      .track(run())
      .catch((err: unknown) =>
        deps.logger?.warn({ err }, 'kraken simulator: webhook delivery failed'),
      );
  };

  return {
    emit,
    async test(registration) {
      const p = prepare({ event: 'webhook.test' });
      const r = await deps.tasks.track(post(registration, p));
      record(p, registration.id, r.status, 1, 1);
      return {
        testId: p.eventId,
        payloadSent: p.body,
        signatureHeader: r.signature,
        ...(r.status === 'error' ? {} : { httpStatus: r.status }),
        ...(r.text !== undefined ? { responseBody: r.text.slice(0, 1024) } : {}),
        ...(r.error !== undefined ? { errorMessage: r.error } : {}),
      };
    },
    testAll: () => emit([{ event: 'webhook.test' }], 0),
    rotateSecret(newSecret, overlapMs) {
      previous = { secret: current, until: deps.clock.now().getTime() + overlapMs };
      current = newSecret;
    },
  };
}
