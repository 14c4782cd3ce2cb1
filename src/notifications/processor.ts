/**
 * notify: delivers one case's outbox to the partner, oldest first (LINDEX 0 → POST → pop on 2xx),
 * until it is empty. A failure throws, so BullMQ retries the job with capped-jitter backoff; the
 * next run starts again at the same head, so order per case holds and nothing is skipped. Once
 * the head has been failing for the whole retry window (or the partner answers 410 Gone), the
 * case is dead-lettered: it leaves the pending set, the sweep leaves it alone, and an operator
 * replays it (dlq.ts).
 *
 * Safe to run twice: a crash after the partner answered 2xx but before the pop redelivers the
 * same bytes with the same `webhook-id` (at-least-once; the partner deduplicates on it), and the
 * pop only removes the item that was delivered.
 */
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import type { Metrics } from '../metrics/metrics.js';
import { NotifyJob } from '../queue/catalog.js';
import { deliver, type DeliveryResult, type DeliveryTarget } from './deliver.js';
import { Notification } from './notification.js';
import type { Outbox } from './outbox.js';

/** A delivery attempt failed and will be retried (network error, timeout, non-2xx other than 410). */
export class NotificationDeliveryError extends Error {
  override readonly name = 'NotificationDeliveryError';
}

export interface NotifyProcessorDeps {
  outbox: Outbox;
  target: DeliveryTarget;
  /** How long the head notification may keep failing before the case is dead-lettered. */
  retryWindowMs: number;
  clock: Clock;
  metrics: Pick<Metrics, 'notifications'>;
  log: Logger;
}

export function notifyProcessor(deps: NotifyProcessorDeps) {
  async function attempt(item: string, signal: AbortSignal): Promise<{ id: string; res: DeliveryResult }> {
    const parsed = Notification.safeParse(safeJson(item));
    if (!parsed.success) return { id: '?', res: { ok: false, gone: false, error: 'unreadable outbox item' } };
    return { id: parsed.data.id, res: await deliver(deps.target, { id: parsed.data.id, body: item }, deps.clock.now(), signal) };
  }

  return async (job: { id?: string; data: unknown }, signal: AbortSignal): Promise<string> => {
    const { caseId } = NotifyJob.parse(job.data);
    // A dead-lettered case (or one already drained) has nothing for this job to do.
    if (!(await deps.outbox.isPending(caseId))) return 'not_pending';
    let delivered = 0;
    for (;;) {
      const item = await deps.outbox.head(caseId);
      if (item === null) {
        if (await deps.outbox.settle(caseId)) return `delivered:${delivered}`;
        continue; // a notification was written meanwhile: deliver it in this run
      }
      const { id, res } = await attempt(item, signal);
      if (res.ok) {
        if (await deps.outbox.ack(caseId, item)) deps.metrics.notifications.inc({ outcome: 'delivered' });
        delivered += 1;
        continue;
      }
      deps.metrics.notifications.inc({ outcome: 'failed_attempt' });
      const now = deps.clock.now();
      const since = await deps.outbox.failingSince(caseId, now);
      if (res.gone || now.getTime() - since >= deps.retryWindowMs) {
        const n = await deps.outbox.deadLetter(caseId, now, { lastError: res.error, failingSince: new Date(since).toISOString() });
        deps.metrics.notifications.inc({ outcome: 'dead_lettered' }, n);
        deps.log.warn({ caseId, notificationId: id, notifications: n, err: res.error }, 'partner notifications dead-lettered');
        return 'dead_lettered';
      }
      throw new NotificationDeliveryError(`notification ${id}: ${res.error}`);
    }
  };
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}
