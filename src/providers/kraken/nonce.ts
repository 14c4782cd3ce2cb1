/**
 * The `API-Nonce` contract of the Kraken client, and an in-process implementation.
 *
 * Why a nonce *function* is not enough: Kraken rejects a nonce that is not greater than the last
 * one it saw for the API key (PROVIDERS.md §5 rule 2). Two calls that take nonces 7 and 8 and then
 * race over the network can arrive as 8, 7, and 7 is refused, however correctly the nonces were
 * issued. So a source both issues the nonce and runs the call that carries it, one call at a time
 * per API key, until its answer is in (then Kraken has certainly checked the nonce). The Redis
 * implementation (`src/store/nonce.ts`) does this across processes and hosts; this one within one
 * process (tests, single-process tools).
 */
import type { Clock } from '../../lib/clock.js';

export interface KrakenNonceSource {
  /**
   * Runs `send` with a fresh nonce, strictly greater than every nonce issued before for this API
   * key, and returns its result. No other call of the same API key runs until `send` settles.
   * `holdMs` bounds how long the call may hold the key (a crashed holder frees it after that);
   * `signal` aborts the wait for the key.
   */
  withNonce<T>(
    send: (nonce: string) => Promise<T>,
    opts: { holdMs: number; signal?: AbortSignal },
  ): Promise<T>;
}

const NS_PER_MS = 1_000_000n;

/** Nanoseconds since the epoch (ms resolution from the clock), as a decimal string. */
export function clockNonce(clock: Clock): string {
  return (BigInt(clock.now().getTime()) * NS_PER_MS).toString();
}

/** One process only: a monotonic counter seeded from the clock and a FIFO mutex. */
export function createLocalNonceSource(clock: Clock): KrakenNonceSource & { next(): string } {
  let last = 0n;
  let tail: Promise<unknown> = Promise.resolve();
  const next = (): string => {
    const candidate = BigInt(clockNonce(clock));
    last = candidate > last ? candidate : last + 1n;
    return last.toString();
  };
  return {
    next,
    withNonce(send, opts) {
      const run = tail.then(() => {
        opts.signal?.throwIfAborted();
        return send(next());
      });
      // The next caller waits for this call to settle, whether it succeeded or not.
      tail = run.catch(() => undefined);
      return run;
    },
  };
}
