/**
 * Webhook delivery as Kira does it: `{"event", "data": {"event_id", ...}}` (no root id), signed
 * with `x-signature-sha256` = hex HMAC-SHA256(raw body, secret as UTF-8), 30 s timeout, and the
 * delivery faults (drop / duplicate / reorder), optional retries and secret rotation.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { Clock } from '../../lib/clock.js';
import { httpRequest } from '../../lib/http.js';
import { nodeFetch, type FetchFn } from '../../lib/node-fetch.js';
import { roll, type SimFaults } from '../shared/faults.js';
import type { TaskTracker } from '../shared/tasks.js';
import type { KiraState } from './state.js';
import type { DeliveryRecord, KiraWebhookEvent } from './types.js';

const DELIVERY_TIMEOUT_MS = 30_000;
/** A reordered event is held back by 0.5–3× its normal delay, but never less than this. */
const MIN_REORDER_BASE_MS = 100;

export interface OutgoingEvent {
  event: KiraWebhookEvent;
  userId: string;
  /** Payload fields after `event_id` and `user_id`. */
  data: Record<string, unknown>;
}

export interface WebhookDispatcher {
  /** Sends the events in order (subject to faults); `normalDelayMs` scales the reorder hold-back. */
  emit(events: OutgoingEvent[], normalDelayMs: number): void;
  setUrl(url: string): void;
  rotateSecret(newSecret: string, overlapMs: number): void;
}

export interface WebhookDeps {
  tasks: TaskTracker;
  state: KiraState;
  clock: Clock;
  random: () => number;
  faults: () => SimFaults;
  /** Delays between attempts; empty = deliver once. */
  retrySchedule: readonly number[];
  secret: string;
  url?: string;
  /** Default node-fetch.ts. */
  fetch?: FetchFn;
  logger?: { warn(obj: object, msg?: string): void };
}

interface Prepared {
  eventId: string;
  event: KiraWebhookEvent;
  userId: string;
  body: string;
}

export function signKiraBody(body: string, secret: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(body, 'utf8').digest('hex');
}

function retryable(status: number | 'error'): boolean {
  return status === 'error' || status === 408 || status === 429 || status >= 500;
}

export function createWebhookDispatcher(deps: WebhookDeps): WebhookDispatcher {
  const fetchFn = deps.fetch ?? nodeFetch;
  let url = deps.url;
  let current = deps.secret;
  let previous: { secret: string; until: number } | undefined;

  const signingSecret = (): string =>
    previous && deps.clock.now().getTime() < previous.until ? previous.secret : current;

  const record = (
    p: Prepared,
    status: DeliveryRecord['status'],
    attempt: number,
    copy: number,
  ): void => {
    deps.state.deliveries.push({
      eventId: p.eventId,
      event: p.event,
      userId: p.userId,
      status,
      attempt,
      copy,
      at: deps.state.nowIso(),
    });
  };

  const post = async (target: string, body: string): Promise<number | 'error'> => {
    try {
      const res = await httpRequest(fetchFn, {
        method: 'POST',
        url: target,
        headers: {
          'content-type': 'application/json',
          'x-signature-sha256': signKiraBody(body, signingSecret()),
          'user-agent': 'kira-simulator',
        },
        body,
        operation: 'webhook',
        timeoutMs: DELIVERY_TIMEOUT_MS,
        signal: deps.tasks.signal,
      });
      return res.status;
    } catch {
      return 'error';
    }
  };

  const attempt = async (p: Prepared, copy: number, n: number): Promise<void> => {
    if (deps.tasks.closed) return;
    if (!url) return record(p, 'no_url', n, copy);
    const status = await post(url, p.body);
    if (deps.tasks.closed) return;
    record(p, status, n, copy);
    const wait = deps.retrySchedule[n - 1];
    if (retryable(status) && wait !== undefined)
      {deps.tasks.after(wait, () => attempt(p, copy, n + 1));}
  };

  const sendCopies = async (p: Prepared, copies: number): Promise<void> => {
    for (let copy = 1; copy <= copies; copy += 1) await attempt(p, copy, 1);
  };

  const prepare = (e: OutgoingEvent): Prepared => {
    const eventId = randomUUID();
    const body = JSON.stringify({
      event: e.event,
      data: { event_id: eventId, user_id: e.userId, ...e.data },
    });
    return { eventId, event: e.event, userId: e.userId, body };
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
          deps.logger?.warn({ err }, 'kira simulator: webhook delivery failed'),
        );
    },
    setUrl(next) {
      url = next;
    },
    rotateSecret(newSecret, overlapMs) {
      previous = { secret: signingSecret(), until: deps.clock.now().getTime() + overlapMs };
      current = newSecret;
    },
  };
}
