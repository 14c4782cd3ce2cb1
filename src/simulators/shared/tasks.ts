/**
 * Pending-work bookkeeping for simulators: every timer and in-flight delivery goes through one
 * tracker, so `idle()` can tell when nothing is pending and `close()` can cancel all of it.
 * Timers are real `setTimeout`s (simulated delays are wall-clock), but none outlive `close()`.
 */
import { setMaxListeners } from 'node:events';

export class SimulatorClosedError extends Error {
  override readonly name = 'SimulatorClosedError';
  constructor() {
    super('simulator closed');
  }
}

export interface TaskTracker {
  /** Runs `fn` after `ms`; the task stays pending until `fn` (and its promise) settles. Returns a cancel function. */
  after(ms: number, fn: () => unknown): () => void;
  /** Tracks an already running piece of work until it settles. */
  track<T>(p: Promise<T>): Promise<T>;
  /** Resolves after `ms`, or rejects with SimulatorClosedError when the tracker closes first. */
  sleep(ms: number): Promise<void>;
  /** Aborted on close: pass to fetch so in-flight deliveries stop. */
  readonly signal: AbortSignal;
  readonly closed: boolean;
  /** Resolves as soon as nothing is pending (immediately if nothing is). */
  idle(): Promise<void>;
  /** Cancels every timer and aborts in-flight work; idempotent. */
  close(): void;
}

export function createTaskTracker(onError: (err: unknown) => void): TaskTracker {
  const timers = new Map<NodeJS.Timeout, () => void>();
  const abort = new AbortController();
  // Every in-flight delivery and sleep listens on this one signal, hundreds at once under load:
  // by design, not a leak, so Node's warning past 10 listeners would be noise.
  setMaxListeners(0, abort.signal);
  let pending = 0;
  let waiters: Array<() => void> = [];

  const settle = (): void => {
    pending -= 1;
    if (pending === 0) {
      const w = waiters;
      waiters = [];
      for (const resolve of w) resolve();
    }
  };

  const track = <T>(p: Promise<T>): Promise<T> => {
    pending += 1;
    return p.finally(settle);
  };

  const after = (ms: number, fn: () => unknown): (() => void) => {
    if (abort.signal.aborted) return () => undefined;
    pending += 1;
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        Promise.resolve()
          .then(fn)
          .catch((err: unknown) => {
            if (!(err instanceof SimulatorClosedError)) onError(err);
          })
          .finally(settle);
      },
      Math.max(0, ms),
    );
    const cancel = (): void => {
      if (!timers.delete(timer)) return;
      clearTimeout(timer);
      settle();
    };
    timers.set(timer, cancel);
    return cancel;
  };

  const sleep = (ms: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (abort.signal.aborted) return reject(new SimulatorClosedError());
      if (ms <= 0) return resolve();
      // close() cancels the timer itself; the listener only turns that into a rejection.
      const onAbort = (): void => reject(new SimulatorClosedError());
      abort.signal.addEventListener('abort', onAbort, { once: true });
      after(ms, () => {
        abort.signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });

  return {
    signal: abort.signal,
    get closed() {
      return abort.signal.aborted;
    },
    after,
    track,
    sleep,
    idle() {
      if (pending === 0) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
    close() {
      if (abort.signal.aborted) return;
      abort.abort(new SimulatorClosedError());
      for (const cancel of [...timers.values()]) cancel();
    },
  };
}
