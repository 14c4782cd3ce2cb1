/**
 * Kira access-token cache: refreshes less than 5 minutes before expiry (by the injected clock),
 * and concurrent callers share one in-flight refresh (single-flight).
 */
import type { Clock } from '../../lib/clock.js';

export interface IssuedToken {
  accessToken: string;
  /** Lifetime in seconds, as `expires_in` said. */
  expiresInS: number;
}

export interface TokenSource {
  /** A token that is not near expiry: the cached one, or the result of one shared refresh. */
  get(): Promise<string>;
  /**
   * After a 401 with `rejected`: refreshes, unless another caller already replaced that token,
   * in which case the newer token is returned without a second /auth.
   */
  renew(rejected: string): Promise<string>;
}

export const REFRESH_MARGIN_MS = 5 * 60_000;

interface Cached {
  value: string;
  /** Refresh from this instant on (epoch ms). */
  refreshAt: number;
}

export function createTokenSource(deps: {
  issue: () => Promise<IssuedToken>;
  clock: Clock;
}): TokenSource {
  let cached: Cached | undefined;
  let inflight: Promise<string> | undefined;

  const refresh = (): Promise<string> => {
    inflight ??= deps
      .issue()
      .then((t) => {
        const lifetimeMs = t.expiresInS * 1000;
        // Short-lived tokens (< 10 min) refresh at half their lifetime, not on every call.
        const margin = Math.min(REFRESH_MARGIN_MS, lifetimeMs / 2);
        cached = {
          value: t.accessToken,
          refreshAt: deps.clock.now().getTime() + lifetimeMs - margin,
        };
        return t.accessToken;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };

  return {
    get() {
      if (cached && deps.clock.now().getTime() < cached.refreshAt) {
        return Promise.resolve(cached.value);
      }
      return refresh();
    },
    renew(rejected) {
      if (inflight) return inflight;
      if (cached && cached.value !== rejected) return Promise.resolve(cached.value);
      cached = undefined;
      return refresh();
    },
  };
}
