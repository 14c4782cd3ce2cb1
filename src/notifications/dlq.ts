/**
 * Dead-lettered partner notifications, for the operator CLI (`dlq list`, `dlq replay <id>|--all
 * [--dry-run]`). A dead-lettered case keeps its whole outbox, in order; a replay moves it back to
 * the pending set with a fresh retry window and (given a producer) enqueues its delivery job at
 * once; without a producer the next reconcile tick's sweep picks it up.
 */
import type { RedisClient } from '../queue/redis.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Producer } from '../queue/producer.js';
import { Notification, type NotificationType } from './notification.js';
import { createOutbox, type Outbox } from './outbox.js';

export interface DeadLetter {
  caseId: string;
  /** Notifications waiting in the case's outbox (delivered in order on replay). */
  notifications: number;
  /** ISO time the case was dead-lettered. */
  failedAt: string;
  lastError: string;
  /** ISO time the oldest notification first failed. */
  failingSince?: string;
}

export interface NotificationSummary {
  id: string;
  type: NotificationType | 'unreadable';
  createdAt?: string;
}

export type ReplayResult =
  | { caseId: string; outcome: 'replayed'; notifications: NotificationSummary[]; enqueued: boolean }
  | { caseId: string; outcome: 'would_replay'; notifications: NotificationSummary[] } // --dry-run: nothing changed
  | { caseId: string; outcome: 'not_dead_lettered' };

export interface ReplayOptions {
  dryRun: boolean;
  /** Counts `kyc_notifications_total{outcome="replayed"}` when the caller has the service's metrics. */
  metrics?: Pick<Metrics, 'notifications'>;
}

type Relay = Pick<Producer, 'ensureNotification'>;

/** Dead-lettered cases, oldest first. */
export async function listDeadLetters(redis: RedisClient, prefix: string): Promise<DeadLetter[]> {
  const rows = await createOutbox(redis, prefix).deadLetters();
  return rows.map((r) => ({
    caseId: r.caseId,
    notifications: r.notifications,
    failedAt: new Date(r.failedAt).toISOString(),
    lastError: r.info?.lastError ?? 'unknown',
    ...(r.info?.failingSince ? { failingSince: r.info.failingSince } : {}),
  }));
}

export async function replayDeadLetter(
  redis: RedisClient, prefix: string, producer: Relay | undefined, caseId: string, opts: ReplayOptions,
): Promise<ReplayResult> {
  return replayOne(createOutbox(redis, prefix), producer, caseId, opts);
}

/** Replays every dead-lettered case (oldest first); with `dryRun`, reports what would be replayed. */
export async function replayAll(redis: RedisClient, prefix: string, producer: Relay | undefined, opts: ReplayOptions): Promise<ReplayResult[]> {
  const outbox = createOutbox(redis, prefix);
  const out: ReplayResult[] = [];
  for (const d of await outbox.deadLetters()) out.push(await replayOne(outbox, producer, d.caseId, opts));
  return out;
}

async function replayOne(outbox: Outbox, producer: Relay | undefined, caseId: string, opts: ReplayOptions): Promise<ReplayResult> {
  if (!(await outbox.isDeadLettered(caseId))) return { caseId, outcome: 'not_dead_lettered' };
  const notifications = (await outbox.items(caseId)).map(summary);
  if (opts.dryRun) return { caseId, outcome: 'would_replay', notifications };
  const n = await outbox.replay(caseId);
  if (n === null) return { caseId, outcome: 'not_dead_lettered' }; // replayed concurrently by someone else
  opts.metrics?.notifications.inc({ outcome: 'replayed' }, n);
  let enqueued = false;
  if (producer && n > 0) {
    try {
      await producer.ensureNotification(caseId);
      enqueued = true;
    } catch {
      // The case is pending again either way: the reconcile tick's sweep enqueues it.
    }
  }
  return { caseId, outcome: 'replayed', notifications, enqueued };
}

function summary(item: string): NotificationSummary {
  try {
    const n = Notification.parse(JSON.parse(item));
    return { id: n.id, type: n.type, createdAt: n.createdAt };
  } catch {
    return { id: '?', type: 'unreadable' };
  }
}
