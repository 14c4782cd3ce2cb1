/**
 * Producers: the only way anything enters a queue. `ensureWork` derives the job a case needs from
 * its state (queued → create-user, remediating → remediate) with deterministic job ids, so it is
 * safe to call after every change and after any crash: a job that exists is not added twice, and
 * a job that was lost between a state change and its enqueue is added by the next call.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Queue, type ConnectionOptions } from 'bullmq';
import type { KycCase, ProviderEvent, ProviderId } from '../kyc/types.js';
import {
  EVENTS_QUEUE, EVENT_JOB_OPTS, RECONCILE_QUEUE, JOB, NOTIFICATIONS_QUEUE, POLL_JOB_OPTS, PROVIDER_JOB_OPTS, jobIds, notifyJobOpts, providerQueue,
  type CreateUserJob, type NotifyJob, type PollJob, type ProviderEventJob, type RemediateJob,
} from './catalog.js';

export class QueueUnavailableError extends Error {
  override readonly name = 'QueueUnavailableError';
}

export interface ProducerDeps {
  connection: ConnectionOptions;
  prefix: string;
  providers: readonly ProviderId[];
  dedupeTtlMs: number;
  /** Longest time an enqueue may take before the caller is told Redis is unavailable. */
  enqueueTimeoutMs?: number;
  /**
   * Partner notifications (PARTNER_WEBHOOK_URL set): `ensureWork` also relays a case whose outbox
   * has notifications pending to the notifications queue. Without it, `ensureNotification` still
   * works (operator replay) with the default retry window.
   */
  notifications?: { retryWindowMs: number; backoffBaseMs: number; isPending(caseId: string): Promise<boolean> };
}

export function createProducer(deps: ProducerDeps) {
  const opts = { connection: deps.connection, prefix: deps.prefix };
  const events = new Queue<ProviderEventJob>(EVENTS_QUEUE, opts);
  const reconcile = new Queue(RECONCILE_QUEUE, opts);
  const notifications = new Queue<NotifyJob>(NOTIFICATIONS_QUEUE, opts);
  const notifyOpts = notifyJobOpts(deps.notifications ?? { retryWindowMs: 24 * 3_600_000, backoffBaseMs: 5_000 });
  const providerQueues = new Map(deps.providers.map((p) => [p, new Queue(providerQueue(p), opts)] as const));
  const timeoutMs = deps.enqueueTimeoutMs ?? 800;

  function queueFor(p: ProviderId): Queue {
    const q = providerQueues.get(p);
    if (!q) throw new Error(`provider ${p} is not enabled`);
    return q;
  }

  async function bounded<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QueueUnavailableError(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } catch (err) {
      throw err instanceof QueueUnavailableError ? err : new QueueUnavailableError('Redis is unavailable', { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Durably queues a provider event, deduplicated on (provider, providerEventId) for the dedupe
   * TTL (longer than job retention). Resolves only once Redis has the job.
   */
  async function enqueueEvent(event: ProviderEvent): Promise<'accepted' | 'duplicate'> {
    const digest = createHash('sha256').update(event.providerEventId).digest('hex').slice(0, 32);
    const dedupeId = `${event.provider}-${digest}`;
    const jobId = `evt-${dedupeId}-${randomBytes(6).toString('hex')}`;
    const job = await bounded(
      events.add(JOB.providerEvent, { event }, { ...EVENT_JOB_OPTS, jobId, deduplication: { id: dedupeId, ttl: deps.dedupeTtlMs } }),
    );
    return job.id === jobId ? 'accepted' : 'duplicate';
  }

  async function ensureWork(c: KycCase): Promise<void> {
    if (c.status === 'queued') {
      const data: CreateUserJob = { caseId: c.id, round: c.createRound };
      await bounded(queueFor(c.provider).add(JOB.createUser, data, { ...PROVIDER_JOB_OPTS, jobId: jobIds.createUser(c.id, c.createRound) }));
    } else if (c.status === 'remediating') {
      const data: RemediateJob = { caseId: c.id, attempt: c.attempts };
      await bounded(queueFor(c.provider).add(JOB.remediate, data, { ...PROVIDER_JOB_OPTS, jobId: jobIds.remediate(c.id, c.attempts) }));
    }
    if (deps.notifications && (await bounded(deps.notifications.isPending(c.id)))) await ensureNotification(c.id);
  }

  /**
   * The outbox relay: makes sure the case's notification job exists. One job per case at a time
   * (fixed jobId; an existing waiting, delayed or active job absorbs the add), which is what keeps
   * deliveries in order per case.
   */
  async function ensureNotification(caseId: string): Promise<void> {
    const data: NotifyJob = { caseId };
    await bounded(notifications.add(JOB.notify, data, { ...notifyOpts, jobId: jobIds.notify(caseId) }));
  }

  /** `ensureNotification` for many cases in one round trip (the reconcile tick's sweep). */
  async function ensureNotifications(caseIds: readonly string[]): Promise<void> {
    if (caseIds.length === 0) return;
    await bounded(notifications.addBulk(caseIds.map((caseId) => ({ name: JOB.notify, data: { caseId }, opts: { ...notifyOpts, jobId: jobIds.notify(caseId) } }))));
  }

  /** Queues a poll of the case's provider user on the provider's (rate-limited) queue. */
  async function enqueuePoll(c: Pick<KycCase, 'id' | 'provider'>, at: Date): Promise<void> {
    const data: PollJob = { caseId: c.id };
    await bounded(queueFor(c.provider).add(JOB.poll, data, { ...POLL_JOB_OPTS, jobId: jobIds.poll(c.id, at) }));
  }

  /** One tick every `everyMs` across all processes (a BullMQ job scheduler, idempotent to upsert). */
  async function scheduleReconcile(everyMs: number): Promise<void> {
    await reconcile.upsertJobScheduler('reconcile-tick', { every: everyMs }, { name: JOB.reconcileTick, opts: { removeOnComplete: 100, removeOnFail: 100 } });
  }

  function queues(): Queue[] {
    return [events, reconcile, notifications, ...providerQueues.values()];
  }

  async function close(): Promise<void> {
    await Promise.all(queues().map((q) => q.close()));
  }

  return { enqueueEvent, ensureWork, ensureNotification, ensureNotifications, enqueuePoll, scheduleReconcile, queues, close };
}

export type Producer = ReturnType<typeof createProducer>;
