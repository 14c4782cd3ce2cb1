/** Capped exponential backoff with full jitter: the one retry-delay policy of every queue. */
export const BACKOFF_CAP_MS = 5 * 60_000;

export function cappedJitterBackoff(attemptsMade: number, baseMs: number, random: () => number = Math.random): number {
  const exp = Math.min(BACKOFF_CAP_MS, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}
