/**
 * A token bucket per key (per account): `perSecond` refill, `burst` capacity. Time comes from the
 * injected clock, so a frozen test clock never refills.
 */
import type { Clock } from '../../lib/clock.js';

export interface TokenBucketOptions {
  perSecond: number;
  burst: number;
  clock: Clock;
}

export interface TokenBucket {
  /** Takes one token; returns 0 when allowed, else the whole seconds to wait (>= 1). */
  take(key: string): number;
}

export function createTokenBucket(opts: TokenBucketOptions): TokenBucket {
  if (!(opts.perSecond > 0) || !(opts.burst >= 1)) {
    throw new Error(
      `rate limit needs perSecond > 0 and burst >= 1 (got ${opts.perSecond}/${opts.burst})`,
    );
  }
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key) {
      const now = opts.clock.now().getTime();
      const b = buckets.get(key) ?? { tokens: opts.burst, at: now };
      const elapsed = Math.max(0, now - b.at) / 1000;
      b.tokens = Math.min(opts.burst, b.tokens + elapsed * opts.perSecond);
      b.at = now;
      buckets.set(key, b);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - b.tokens) / opts.perSecond));
    },
  };
}
