/**
 * Kraken user state → our outcome: the one place that decides it, for polls (`GET /b2b/users/{user}`)
 * and webhooks alike. Kraken documents no terminal states and no failure event (PROVIDERS.md §1.9),
 * so every rule below is [INF]:
 *
 * - `status.state` `disabled` | `closed` → **rejected, terminal** (the `user.disabled` /
 *   `user.closed` events say the same). Reasons: `status.reasons[]` and the required actions'
 *   reasons; when Kraken gives none, one text naming the state, which the taxonomy maps to
 *   `unknown` → escalate (a human asks Kraken why).
 * - Any required action with a reason other than `initial_onboarding` (e.g. `sanctions_screening_match`,
 *   `identity_document_expired`, `missing_field: tax_ids`) → **rejected, not terminal**: Kraken wants
 *   something before it verifies, and the taxonomy decides remediate / escalate / reject. This is
 *   how Kraken reports a rejection: no event, only `required_actions` (rule 5).
 * - Required actions whose reasons are only `initial_onboarding` (or empty) → **pending**.
 * - `state` `ok` (also `active` / `verified`) with no required action left → **verified, terminal**
 *   (what `user.verified` announces; polling finds it when the webhook was lost).
 * - Any other state (unknown enum values) → pending: never decide on a value we do not know.
 * - `deadline`: the earliest deadline among the outstanding required actions; the core escalates
 *   a case that is still open `DEADLINE_MARGIN` before it.
 */
import type { ProviderOutcome } from '../../kyc/types.js';

export interface KrakenRequiredAction {
  action_type?: string;
  verification_type?: string;
  reasons?: string[];
  deadline?: string;
  wait_reason_code?: string;
}

export interface KrakenUserStatus {
  state: string;
  required_actions?: KrakenRequiredAction[];
  reasons?: string[];
}

export interface KrakenStatusMapping {
  /** `verified` | `onboarding` | `action_required` | `disabled` | `closed` | the raw state. */
  providerStatus: string;
  outcome: ProviderOutcome;
  terminal: boolean;
  /** Provider reason texts for the reason mapper (empty unless rejected). */
  reasonTexts: string[];
  deadline?: string;
}

/** Reasons that only mean "the onboarding has not finished yet". */
export const ONBOARDING_REASONS: ReadonlySet<string> = new Set(['initial_onboarding']);
const NEGATIVE_STATES: ReadonlySet<string> = new Set(['disabled', 'closed']);
const POSITIVE_STATES: ReadonlySet<string> = new Set(['ok', 'active', 'verified']);

/** Earliest valid deadline as an ISO string (ms precision), or undefined. */
function earliestDeadline(actions: readonly KrakenRequiredAction[]): string | undefined {
  const times = actions.flatMap((a) => {
    const t = a.deadline === undefined ? Number.NaN : Date.parse(a.deadline);
    return Number.isFinite(t) ? [t] : [];
  });
  return times.length > 0 ? new Date(Math.min(...times)).toISOString() : undefined;
}

const withDeadline = (
  m: Omit<KrakenStatusMapping, 'deadline'>,
  deadline: string | undefined,
): KrakenStatusMapping => (deadline === undefined ? m : { ...m, deadline });

export function mapKrakenStatus(status: KrakenUserStatus): KrakenStatusMapping {
  const state = status.state.trim().toLowerCase();
  const actions = status.required_actions ?? [];
  const actionReasons = actions.flatMap((a) => a.reasons ?? []);
  const problems = [...new Set(actionReasons.filter((r) => !ONBOARDING_REASONS.has(r)))];
  if (NEGATIVE_STATES.has(state)) {
    const texts = [...new Set([...(status.reasons ?? []), ...problems])];
    return {
      providerStatus: state,
      outcome: 'rejected',
      terminal: true,
      reasonTexts: texts.length > 0 ? texts : [`user ${state} by Kraken (no reasons given)`],
    };
  }
  const deadline = earliestDeadline(actions);
  if (problems.length > 0) {
    return withDeadline(
      {
        providerStatus: 'action_required',
        outcome: 'rejected',
        terminal: false,
        reasonTexts: problems,
      },
      deadline,
    );
  }
  if (actions.length > 0) {
    return withDeadline(
      { providerStatus: 'onboarding', outcome: 'pending', terminal: false, reasonTexts: [] },
      deadline,
    );
  }
  if (POSITIVE_STATES.has(state)) {
    return { providerStatus: 'verified', outcome: 'verified', terminal: true, reasonTexts: [] };
  }
  return { providerStatus: state, outcome: 'pending', terminal: false, reasonTexts: [] };
}

/** The user events Kraken sends (§1.8); every other event type is not ours to act on. */
export const KRAKEN_USER_EVENTS: Readonly<Record<string, KrakenStatusMapping>> = {
  'user.verified': {
    providerStatus: 'verified',
    outcome: 'verified',
    terminal: true,
    reasonTexts: [],
  },
  // The event bodies carry no reasons ([UNKNOWN] beyond the envelope): the state is the reason.
  'user.disabled': {
    providerStatus: 'disabled',
    outcome: 'rejected',
    terminal: true,
    reasonTexts: ['user disabled by Kraken (user.disabled)'],
  },
  'user.closed': {
    providerStatus: 'closed',
    outcome: 'rejected',
    terminal: true,
    reasonTexts: ['user closed by Kraken (user.closed)'],
  },
};
