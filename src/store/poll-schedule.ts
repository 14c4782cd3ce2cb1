import type { KycCase } from '../kyc/types.js';

/**
 * The delay before a waiting case's next poll grows with the time since its last transition:
 * with `1m,5m,15m,1h,1d`, a case waiting 0–1 min is polled after 1 min, 1–6 min after 5 min,
 * 6–21 min after 15 min, then hourly, and after 1h21m daily.
 */
export function pollDelay(c: Pick<KycCase, 'updatedAt'>, now: Date, schedule: readonly number[]): number {
  const age = Math.max(0, now.getTime() - Date.parse(c.updatedAt));
  let elapsed = 0;
  for (const d of schedule) {
    if (age < elapsed + d) return d;
    elapsed += d;
  }
  return schedule[schedule.length - 1]!;
}
