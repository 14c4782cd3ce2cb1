/**
 * Producers: the only way anything enters a queue. `ensureWork` derives the job a case needs from
 * its state (queued → create-user, remediating → remediate) with deterministic job ids, so it is
 * safe to call after every change and after any crash: a job that exists is not added twice, and
 * a job that was lost between a state change and its enqueue is added by the next call.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { KycCase, ProviderEvent, ProviderId } from '../kyc/types.js';
import {
  EVENTS_QUEUE, EVENT_JOB_OPTS, RECONCILE_QUEUE, JOB, NOTIFICATIONS_QUEUE, POLL_JOB_OPTS, PROVIDER_JOB_OPTS, jobIds, notifyJobOpts, providerQueue,
  type CreateUserJob, type NotifyJob, type PollJob, type ProviderEventJob, type RemediateJob,
} from './catalog.js';

export class QueueUnavailableError extends Error {
  override readonly name = 'QueueUnavailableError';
}

/** At most this many events answered together (a burst is split; a part fails or succeeds as one). */
const MAX_EVENT_BATCH = 256;

interface PendingEvent {
  event: ProviderEvent;
  dedupeId: string;
  jobId: string;
  resolve(outcome: 'accepted' | 'duplicate'): void;
  reject(err: unknown): void;
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
  // BullMQ's event stream per queue (for QueueEvents listeners; nothing here reads it) is capped
  // at 10,000 entries by default: 1,000 is plenty to follow a queue live and ~1 MB less per queue.
  const opts = { connection: deps.connection, prefix: deps.prefix, streams: { events: { maxLen: 1_000 } } };
  const events = new Queue<ProviderEventJob>(EVENTS_QUEUE, opts);
  const reconcile = new Queue(RECONCILE_QUEUE, opts);
  const notifications = new Queue<NotifyJob>(NOTIFICATIONS_QUEUE, opts);
  const notifyOpts = notifyJobOpts(deps.notifications ?? { retryWindowMs: 24 * 3_600_000, backoffBaseMs: 5_000 });
  const providerQueues = new Map(deps.providers.map((p) => [p, new Queue(providerQueue(p), opts)] as const));
  const timeoutMs = deps.enqueueTimeoutMs ?? 800;
  // Event job ids must never repeat (an add with an existing job id is a no-op, so a redelivery
  // after the dedupe TTL would be reported as a duplicate and dropped): random per producer,
  // then a counter, which is unique like a random suffix each time, without its cost per event.
  const instance = randomBytes(6).toString('hex');
  let seq = 0;
  const nextJobSuffix = (): string => `${instance}${(seq++).toString(36)}`;

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
   * Events waiting for the next flush. Concurrent webhooks are micro-batched: every event queued
   * in one turn of the event loop goes to Redis in one write (one round trip), and each caller
   * still learns its own outcome, only once Redis has answered for its event.
   */
  let pending: PendingEvent[] = [];

  function flushEvents(): void {
    const batch = pending;
    pending = [];
    for (let i = 0; i < batch.length; i += MAX_EVENT_BATCH) void addEvents(batch.slice(i, i + MAX_EVENT_BATCH));
  }

  async function addEvents(batch: PendingEvent[]): Promise<void> {
    const ttl = deps.dedupeTtlMs;
    // One add per event, all sent in this turn: the connection writes them together (one
    // socket write, queue/coalesce-writes.ts), as a pipeline would, without the pipeline object
    // BullMQ's addBulk builds (which copies every script onto it). Redis runs the adds in order,
    // each an atomic script: a second copy of an event in the same batch finds the dedupe key the
    // first one set, exactly as it would one request later.
    const adds = batch.map((p) => events.add(JOB.providerEvent, { event: p.event }, { ...EVENT_JOB_OPTS, jobId: p.jobId, deduplication: { id: p.dedupeId, ttl } }));
    try {
      const added = await bounded(Promise.all(adds));
      // The script answers the id of the job that holds the dedupe key: ours when it was added.
      batch.forEach((p, i) => p.resolve(added[i]?.id === p.jobId ? 'accepted' : 'duplicate'));
    } catch (err) {
      // Some events of the batch may be stored: 503 for all is safe (the provider retries, and
      // a stored one then answers as a duplicate), 202 for any would not be.
      for (const p of batch) p.reject(err);
    }
  }

  /**
   * Durably queues a provider event, deduplicated on (provider, providerEventId) for the dedupe
   * TTL (longer than job retention). Resolves only once Redis has the job; rejects with
   * QueueUnavailableError when Redis fails or is slower than the enqueue bound.
   */
  function enqueueEvent(event: ProviderEvent): Promise<'accepted' | 'duplicate'> {
    const digest = createHash('sha256').update(event.providerEventId).digest('hex').slice(0, 32);
    const dedupeId = `${event.provider}-${digest}`;
    const jobId = `evt-${dedupeId}-${nextJobSuffix()}`;
    return new Promise((resolve, reject) => {
      if (pending.push({ event, dedupeId, jobId, resolve, reject }) === 1) setImmediate(flushEvents);
    });
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

  /**
   * Queues a poll of each case's provider user on its provider's (rate-limited) queue: one
   * `addBulk` (one round trip) per provider, whatever the number of cases.
   */
  async function enqueuePolls(cases: readonly Pick<KycCase, 'id' | 'provider'>[], at: Date): Promise<void> {
    const byProvider = new Map<ProviderId, { name: string; data: PollJob; opts: JobsOptions }[]>();
    for (const c of cases) {
      const jobs = byProvider.get(c.provider) ?? [];
      jobs.push({ name: JOB.poll, data: { caseId: c.id }, opts: { ...POLL_JOB_OPTS, jobId: jobIds.poll(c.id, at) } });
      byProvider.set(c.provider, jobs);
    }
    await Promise.all([...byProvider].map(([p, jobs]) => bounded(queueFor(p).addBulk(jobs))));
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

  return { enqueueEvent, ensureWork, ensureNotification, ensureNotifications, enqueuePolls, scheduleReconcile, queues, close };
}

export type Producer = ReturnType<typeof createProducer>;
