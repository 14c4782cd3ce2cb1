/**
 * Partner notifications, assembled: the notify processor (run by the notifications worker) and
 * the outbox sweep (run by the reconcile tick). Built by service.ts only when PARTNER_WEBHOOK_URL
 * is configured.
 */
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Producer } from '../queue/producer.js';
import type { DeliveryTarget } from './deliver.js';
import type { Outbox } from './outbox.js';
import { notifyProcessor } from './processor.js';

export { createOutbox, type Outbox } from './outbox.js';
export { secretKey } from './signing.js';

export interface NotificationsDeps {
  outbox: Outbox;
  producer: Pick<Producer, 'ensureNotifications'>;
  target: DeliveryTarget;
  retryWindowMs: number;
  clock: Clock;
  metrics: Pick<Metrics, 'notifications'>;
  log: Logger;
  /** Pending cases looked at per sweep (default 500). */
  sweepBatch?: number;
}

/** Outcomes of `kyc_notifications_total`, created at 0 so that rates and alerts work from the start. */
export const NOTIFICATION_OUTCOMES = ['delivered', 'failed_attempt', 'dead_lettered', 'replayed'] as const;

export function createNotifications(deps: NotificationsDeps) {
  const process = notifyProcessor({ ...deps, log: deps.log.child({ component: 'notifications' }) });
  for (const outcome of NOTIFICATION_OUTCOMES) deps.metrics.notifications.inc({ outcome }, 0);

  /**
   * The relay's safety net: makes sure a job exists for the next slice of pending cases (a crash
   * between a decision and its relay, a job lost or failed past its attempts). Dead-lettered
   * cases are not in the pending set, so they are never re-enqueued here.
   */
  async function sweep(): Promise<number> {
    const ids = await deps.outbox.scanPending(deps.sweepBatch ?? 500);
    await deps.producer.ensureNotifications(ids);
    return ids.length;
  }

  return { process, sweep };
}

export type Notifications = ReturnType<typeof createNotifications>;
