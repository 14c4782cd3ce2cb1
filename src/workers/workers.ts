/**
 * BullMQ wiring only: one worker per provider queue (rate-limited to the provider's allowance)
 * and one for kyc-events. Maps provider errors to BullMQ behaviour and records job metrics.
 */
import { UnrecoverableError, WaitingError, Worker, type ConnectionOptions, type Job, type MinimalJob, type Processor, type WorkerOptions } from 'bullmq';
import type { Logger } from 'pino';
import type { ProviderId } from '../kyc/types.js';
import type { Metrics } from '../metrics/metrics.js';
import { RateLimitedError } from '../providers/errors.js';
import { CircuitOpenError } from '../providers/circuit-guard.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { cappedJitterBackoff } from '../queue/backoff.js';
import { EVENTS_QUEUE, JOB, NOTIFICATIONS_QUEUE, RECONCILE_QUEUE, providerQueue } from '../queue/catalog.js';
import type { Notifications } from '../notifications/index.js';
import type { Producer } from '../queue/producer.js';
import type { Clock } from '../lib/clock.js';
import { deadlineSignal } from '../lib/abort.js';
import { abortedForShutdown } from './job-context.js';
import { pollProcessor } from './poll.processor.js';
import { reconcileTickProcessor } from './reconcile-tick.processor.js';
import type { CaseCommands } from '../queue/case-commands.js';
import type { CaseStore } from '../store/case-store.js';
import { createUserProcessor } from './create-user.processor.js';
import { providerEventProcessor } from './provider-event.processor.js';
import { remediateProcessor } from './remediate.processor.js';

export interface WorkersDeps {
  connection: ConnectionOptions;
  prefix: string;
  store: CaseStore;
  commands: CaseCommands;
  providers: ProviderRegistry;
  metrics: Metrics;
  log: Logger;
  preflight: 'enforce' | 'off';
  concurrency: number;
  /** A job whose worker stops renewing its lock (crash, kill -9) is retried after this long. */
  lockDurationMs: number;
  jobTimeoutMs?: number;
  producer: Producer;
  clock: Clock;
  deadlineMarginMs: number;
  /** Partner notifications (PARTNER_WEBHOOK_URL set): the notify worker and the tick's outbox sweep. */
  notifications?: Notifications;
}

type Run = (job: Job, signal: AbortSignal) => Promise<string>;

export function startWorkers(deps: WorkersDeps): Worker[] {
  const settings = {
    backoffStrategy: (attemptsMade: number, type?: string, _err?: Error, job?: MinimalJob) => {
      if (type !== 'capped-jitter') return 0;
      const b = job?.opts.backoff;
      return cappedJitterBackoff(attemptsMade, typeof b === 'object' && b.delay ? b.delay : 1_000);
    },
  };
  const base: WorkerOptions = {
    connection: deps.connection, prefix: deps.prefix, settings, concurrency: deps.concurrency,
    lockDuration: deps.lockDurationMs, stalledInterval: deps.lockDurationMs, maxStalledCount: 5,
  };
  const workers: Worker[] = [];
  for (const id of deps.providers.ids()) workers.push(providerWorker(id, deps, base));
  // Events and ticks call no provider: their processors take no deadline signal, and none is made.
  const onEvent = providerEventProcessor(deps);
  workers.push(new Worker(EVENTS_QUEUE, wrap(EVENTS_QUEUE, { local: (job) => onEvent(job) }, deps), base));
  const tick = reconcileTickProcessor(deps);
  workers.push(new Worker(RECONCILE_QUEUE, wrap(RECONCILE_QUEUE, { local: () => tick() }, deps), { ...base, concurrency: 1 }));
  const notify = deps.notifications?.process;
  if (notify) workers.push(new Worker(NOTIFICATIONS_QUEUE, wrap(NOTIFICATIONS_QUEUE, { outbound: (job, signal) => notify(job, signal) }, deps), base));
  return workers;
}

function providerWorker(id: ProviderId, deps: WorkersDeps, base: WorkerOptions): Worker {
  const log = deps.log.child({ provider: id });
  const create = createUserProcessor({ ...deps, log });
  const remediate = remediateProcessor({ ...deps, log });
  const poll = pollProcessor({ ...deps, log });
  const { max, durationMs } = deps.providers.get(id).rateLimit;
  const name = providerQueue(id);
  const byName: Record<string, Run> = { [JOB.createUser]: create, [JOB.remediate]: remediate, [JOB.poll]: poll };
  const run: Run = (job, signal) => {
    const p = byName[job.name];
    if (!p) throw new UnrecoverableError(`unknown job ${job.name}`);
    return p(job, signal);
  };
  const worker: Worker = new Worker(name, wrap(name, { outbound: run }, deps, (ms) => worker.rateLimit(ms)), {
    ...base, limiter: { max, duration: durationMs },
  });
  return worker;
}

/**
 * A processor that calls out (a provider, the partner) gets a deadline signal: aborted after the
 * job timeout or when the worker shuts down. One that only works on Redis (`local`) gets none: a
 * signal costs an AbortController, a timer and a listener per job, more than such a job's own
 * JavaScript, for nothing that would read it.
 */
type Processing = { outbound: Run } | { local: (job: Job) => Promise<string> };

function wrap(queue: string, processing: Processing, deps: WorkersDeps, rateLimit?: (ms: number) => Promise<void>): Processor {
  const timeoutMs = deps.jobTimeoutMs ?? 60_000;
  const start = 'outbound' in processing
    ? (job: Job, signal?: AbortSignal) => {
        const deadline = deadlineSignal(timeoutMs, signal);
        return { outcome: processing.outbound(job, deadline.signal), release: () => deadline.clear() };
      }
    : (job: Job) => ({ outcome: processing.local(job), release: () => undefined });
  // The per-job success line holds fixed, non-personal fields only (ids, names, counts, the
  // processor's outcome word), so it skips the root logger's redaction paths, which cost more
  // than the line itself (as the access log does, http/request-log.ts). Every other line keeps them.
  const done = deps.log.child({}, { redact: [] });
  return async (job, token, signal) => {
    const started = performance.now();
    const running = start(job, signal);
    // One log line per job outcome (ids, names and durations only: job data never goes to the log).
    const at = () => ({ queue, job: job.name, jobId: job.id, attempt: job.attemptsMade + 1, ms: Math.round(performance.now() - started) });
    try {
      const outcome = await running.outcome;
      deps.metrics.jobDuration.observe({ queue, outcome: 'completed' }, (performance.now() - started) / 1000);
      done.info({ ...at(), result: outcome }, 'job completed');
      return outcome;
    } catch (err) {
      if (abortedForShutdown(signal) && token) {
        // The grace period of a shutdown is over: hand the job back to its queue for another
        // worker, without burning an attempt (every step is safe to run again).
        await job.moveToWait(token);
        deps.log.info(at(), 'job returned to its queue: shutdown grace period over');
        throw new WaitingError();
      }
      deps.metrics.jobDuration.observe({ queue, outcome: 'failed' }, (performance.now() - started) / 1000);
      if (err instanceof RateLimitedError && rateLimit) {
        // Wait out Retry-After without burning an attempt: the whole queue pauses, as the limit is per account.
        // An open provider circuit (circuit-guard.ts) holds the queue the same way, for the cool-down left.
        deps.log.info({ ...at(), retryAfterMs: err.retryAfterMs }, err instanceof CircuitOpenError ? 'job deferred: provider circuit open; queue paused' : 'job rate-limited; queue paused for Retry-After');
        await rateLimit(err.retryAfterMs);
        throw Worker.RateLimitError();
      }
      const final = err instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (!final) deps.metrics.jobRetries.inc({ queue });
      deps.log[final ? 'warn' : 'info']({ ...at(), err: err instanceof Error ? err.message : String(err) }, final ? 'job failed for good' : 'job failed; will be retried');
      throw err;
    } finally {
      running.release();
    }
  };
}
