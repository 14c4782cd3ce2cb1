/**
 * Webhook delivery as Kraken describes it (PROVIDERS.md §1.8, rule 6): envelope
 * `{event_type, iiban, id, timestamp}` (RFC3339 with nanoseconds), headers
 * `X-Signature: t=<unix s>,v1=<hex HMAC-SHA256("{t}.{raw}") keyed with the base64-decoded secret>`,
 * `X-Webhook-Event` and `X-Webhook-ID`. A non-2xx answer, a network error or more than 30 s gets
 * retries with exponential backoff for at most `retryWindowMs` (5 min in production); every attempt
 * is signed afresh. Faults: drop / duplicate / reorder; rotation signs with both secrets (two v1).
 */
import { createHmac } from 'node:crypto';
import type { Clock } from '../../lib/clock.js';
import { roll, type SimFaults } from '../shared/faults.js';
import type { TaskTracker } from '../shared/tasks.js';
import type { KrakenState } from './state.js';
import type { DeliveryRecord, KrakenWebhookEvent } from './types.js';

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

export interface WebhookDispatcher {
  emit(events: OutgoingEvent[], normalDelayMs: number): void;
  setUrl(url: string): void;
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
  url?: string;
  /** The webhook registration's id (`X-Webhook-ID`). */
  webhookId: string;
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
  let url = deps.url;
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
    status: DeliveryRecord['status'],
    attempt: number,
    copy: number,
    gaveUp = false,
  ): void => {
    deps.state.deliveries.push({
      eventId: p.eventId,
      event: p.event,
      ...(p.iiban ? { iiban: p.iiban } : {}),
      status,
      attempt,
      copy,
      ...(gaveUp ? { gaveUp } : {}),
      at: deps.state.nowIso(),
    });
  };

  const post = async (target: string, p: Prepared): Promise<number | 'error'> => {
    try {
      const res = await fetch(target, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-signature': signatureHeader(p.body),
          'x-webhook-event': p.event,
          'x-webhook-id': deps.webhookId,
          'user-agent': 'kraken-simulator',
        },
        body: p.body,
        signal: AbortSignal.any([deps.tasks.signal, AbortSignal.timeout(DELIVERY_TIMEOUT_MS)]),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.status;
    } catch {
      return 'error';
    }
  };

  /** Attempt `n`; `spentMs` is the backoff already waited (the window is measured in it). */
  const attempt = async (p: Prepared, copy: number, n: number, spentMs: number): Promise<void> => {
    if (deps.tasks.closed) return;
    if (!url) return record(p, 'no_url', n, copy);
    const status = await post(url, p);
    if (deps.tasks.closed) return;
    if (ok(status)) return record(p, status, n, copy);
    const wait = base * 2 ** (n - 1);
    const gaveUp = spentMs + wait > deps.retryWindowMs;
    record(p, status, n, copy, gaveUp);
    if (!gaveUp) deps.tasks.after(wait, () => attempt(p, copy, n + 1, spentMs + wait));
  };

  const sendCopies = async (p: Prepared, copies: number): Promise<void> => {
    for (let copy = 1; copy <= copies; copy += 1) await attempt(p, copy, 1, 0);
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

  return {
    emit(events, normalDelayMs) {
      const inOrder: Array<{ p: Prepared; copies: number }> = [];
      for (const e of events) {
        const p = prepare(e);
        const f = deps.faults();
        if (roll(f.drop, deps.random)) {
          record(p, 'dropped', 1, 1);
          continue;
        }
        const copies = roll(f.duplicate, deps.random) ? 2 : 1;
        if (roll(f.reorder, deps.random)) {
          const holdBack =
            Math.max(MIN_REORDER_BASE_MS, normalDelayMs) * (0.5 + 2.5 * deps.random());
          deps.tasks.after(holdBack, () => sendCopies(p, copies));
        } else {
          inOrder.push({ p, copies });
        }
      }
      if (inOrder.length === 0) return;
      const run = async (): Promise<void> => {
        for (const { p, copies } of inOrder) await sendCopies(p, copies);
      };
      void deps.tasks
        .track(run())
        .catch((err: unknown) =>
          deps.logger?.warn({ err }, 'kraken simulator: webhook delivery failed'),
        );
    },
    setUrl(next) {
      url = next;
    },
    rotateSecret(newSecret, overlapMs) {
      previous = { secret: current, until: deps.clock.now().getTime() + overlapMs };
      current = newSecret;
    },
  };
}
