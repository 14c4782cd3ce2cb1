/**
 * Whether this process's workers are consuming: the readiness half that a Redis PING cannot see.
 * BullMQ workers can stay connected and silently stop fetching (e.g. after a Redis failover), so
 * a worker is judged by progress, not by its connection: every job it picks up or finishes counts
 * as progress, and a queue that has jobs waiting while its worker has made no progress for longer
 * than `stallMs` is stalled. An empty queue, a queue paused by an operator and a queue held back
 * by its rate limiter (Retry-After, provider allowance) are not stalls.
 */
import type { Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';

export interface QueueActivity {
  queue: string;
  /** Jobs waiting to be picked (waiting + prioritized) at the last check. */
  waiting: number;
  /** Milliseconds since the worker last made progress (or the queue was last seen idle). */
  idleMs: number;
  consuming: boolean;
}

export interface WorkerActivity {
  /** Records progress on `queue` (a job picked up, completed or failed). */
  progress(queue: string): void;
  /** Listens to a worker's `active` / `completed` / `failed` events. */
  watch(worker: Worker): void;
  /** False once any watched queue is stalled or any watched worker was closed or crashed. */
  consuming(): boolean;
  state(): QueueActivity[];
  /** One check now (the timer runs it every `intervalMs`); resolves when done. */
  check(): Promise<void>;
  stop(): void;
}

export interface WorkerActivityDeps {
  /** Queue handles (for counts) of the queues the workers consume, matched by name. */
  queues: readonly Queue[];
  stallMs: number;
  clock: Clock;
  log: Logger;
  /** How often waiting counts are read; default stallMs / 5, between 100 ms and 5 s. */
  intervalMs?: number;
}

/** A check that Redis does not answer within this long counts as "Redis unreachable". */
const CHECK_TIMEOUT_MS = 2_000;

/** A worker whose main loop ended without being paused was closed or crashed: it consumes nothing. */
function alive(w: Worker): boolean {
  return w.isRunning() || w.isPaused();
}

export function createWorkerActivity(deps: WorkerActivityDeps): WorkerActivity {
  const now = () => deps.clock.now().getTime();
  const workers: Worker[] = [];
  const tracked = new Map<string, { queue: Queue; lastProgress: number; waiting: number; stalled: boolean }>();
  const interval = deps.intervalMs ?? Math.min(5_000, Math.max(100, Math.floor(deps.stallMs / 5)));
  let checking: Promise<void> | undefined;

  function progress(queue: string): void {
    const t = tracked.get(queue);
    if (t) t.lastProgress = now();
  }

  function watch(worker: Worker): void {
    workers.push(worker);
    // Without a queue handle only the worker's liveness is judged (no waiting counts to compare).
    const queue = deps.queues.find((q) => q.name === worker.name);
    if (queue) tracked.set(worker.name, { queue, lastProgress: now(), waiting: 0, stalled: false });
    const onProgress = () => progress(worker.name);
    worker.on('active', onProgress);
    worker.on('completed', onProgress);
    worker.on('failed', onProgress);
  }

  async function checkOne(name: string, t: { queue: Queue; lastProgress: number; waiting: number; stalled: boolean }): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const [counts, paused, limitTtl] = await Promise.race([
        Promise.all([t.queue.getJobCounts('waiting', 'prioritized'), t.queue.isPaused(), t.queue.getRateLimitTtl()]),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('Redis did not answer')), CHECK_TIMEOUT_MS); }),
      ]);
      t.waiting = (counts.waiting ?? 0) + (counts.prioritized ?? 0);
      if (t.waiting === 0 || paused || limitTtl > 0) t.lastProgress = now();
    } catch {
      // Redis unreachable: readiness already fails on the PING; restart the stall clock so the
      // worker gets a full stallMs to resume after Redis returns (and is judged again then).
      t.lastProgress = now();
    } finally {
      clearTimeout(timer);
    }
    const stalled = t.waiting > 0 && now() - t.lastProgress > deps.stallMs;
    if (stalled !== t.stalled) {
      if (stalled) deps.log.warn({ queue: name, waiting: t.waiting, idleMs: now() - t.lastProgress }, 'worker not consuming: jobs are waiting and none was picked up');
      else deps.log.info({ queue: name }, 'worker consuming again');
      t.stalled = stalled;
    }
  }

  function check(): Promise<void> {
    checking ??= Promise.all([...tracked].map(([name, t]) => checkOne(name, t))).then(() => undefined).finally(() => { checking = undefined; });
    return checking;
  }

  const timer = setInterval(() => void check(), interval);
  timer.unref();

  return {
    progress,
    watch,
    consuming: () => workers.every(alive) && [...tracked.values()].every((t) => !t.stalled),
    state: () => [...tracked].map(([queue, t]) => ({
      queue, waiting: t.waiting, idleMs: Math.max(0, now() - t.lastProgress),
      consuming: !t.stalled && workers.every((w) => w.name !== queue || alive(w)),
    })),
    check,
    stop: () => clearInterval(timer),
  };
}
