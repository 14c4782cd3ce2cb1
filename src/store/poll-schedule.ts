import type { KycCase } from '../kyc/types.js';

/**
 * When a waiting case is polled next: the one place that decides it (the store asks it after every
 * transition and after every poll).
 *
 * The delay grows with the case's age in its current status (`statusSince`; a change of status —
 * a re-issue, a re-create — starts the schedule again, since that is when a webhook may be lost
 * anew; an entry that changes no status, such as a provider status note, does not): with
 * `1m,5m,15m,1h,1d`, a case waiting 0–1 min is polled after 1 min, 1–6 min after 5 min, 6–21 min
 * after 15 min, then hourly, and after 1h21m daily.
 *
 * A known provider deadline caps it: the next poll is never later than `deadline − margin`, because
 * the deadline escalation runs only when a poll happens. Without the cap a daily step would find a
 * deadline `24 h + ε` away with only ε left.
 */
export interface PollPlan {
  /** Delays between polls of a waiting case (RECONCILE_SCHEDULE), chosen by the case's age. */
  schedule: readonly number[];
  /** Escalate this long before a provider deadline (DEADLINE_MARGIN). */
  deadlineMarginMs: number;
}

/** DEADLINE_MARGIN's default: escalate a day before a provider deadline. */
export const DEFAULT_DEADLINE_MARGIN_MS = 24 * 3_600_000;

type Aged = Pick<KycCase, 'statusSince' | 'createdAt'>;

/** The age-based delay alone (no deadline cap). */
export function pollDelay(c: Aged, now: Date, schedule: readonly number[]): number {
  const age = Math.max(0, now.getTime() - Date.parse(c.statusSince ?? c.createdAt));
  let elapsed = 0;
  for (const d of schedule) {
    if (age < elapsed + d) return d;
    elapsed += d;
  }
  return schedule[schedule.length - 1]!;
}

/** `deadline − margin` in epoch ms, or undefined without a valid deadline. */
export function escalateAt(deadline: string | undefined, marginMs: number): number | undefined {
  const t = deadline === undefined ? Number.NaN : Date.parse(deadline);
  return Number.isFinite(t) ? t - marginMs : undefined;
}

/** True once `now` is at or after `deadline − margin`: the case must be escalated. */
export function deadlineDue(deadline: string | undefined, now: Date, marginMs: number): boolean {
  const at = escalateAt(deadline, marginMs);
  return at !== undefined && now.getTime() >= at;
}

/**
 * Epoch ms of the case's next poll: `now + pollDelay`, but never later than `deadline − margin`
 * while that is still ahead. Once it has passed, the poll that just ran has escalated the case
 * (see `deadlineDue`), so the plain schedule applies again instead of polling at every tick.
 */
export function nextPollAt(c: Aged & Pick<KycCase, 'deadline'>, now: Date, plan: PollPlan): number {
  const byAge = now.getTime() + pollDelay(c, now, plan.schedule);
  const cap = escalateAt(c.deadline, plan.deadlineMarginMs);
  return cap !== undefined && cap > now.getTime() ? Math.min(byAge, cap) : byAge;
}
