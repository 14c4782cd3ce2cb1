/**
 * Kraken user state → our outcome: the one place that decides it, for polls (`GET /b2b/users/{user}`)
 * and webhooks alike. Kraken documents no terminal states and no failure event (PROVIDERS.md §1.9),
 * so every rule below is [INF]:
 *
 * - `status.state` `disabled` | `closed` → **rejected, terminal**. Reasons: the required actions'
 *   `reasons[]` and `status.reasons[]` (Go SDK), mapped by the reason taxonomy (suspected fraud →
 *   reject, a sanctions match → escalate); when Kraken gives none, one text naming the state, which
 *   maps to `unknown` → escalate (a human asks Kraken why).
 * - The `user.disabled` / `user.closed` events carry no reasons (only the envelope), so they decide
 *   nothing themselves: they are informational and ask for an immediate poll (`pollForDetails`),
 *   and the GET above decides. Deciding on the event would escalate every fraud case as `unknown`.
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
  /** The state's reasons are not here but in `GET /b2b/users/{user}`: poll before deciding. */
  pollForDetails?: boolean;
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
      reasonTexts:
        texts.length > 0
          ? texts
          : [`user ${state} by Kraken; GET /b2b/users gives no reasons: ask Kraken why`],
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
  // The event bodies carry no reasons ([UNKNOWN] beyond the envelope): the GET has them.
  'user.disabled': {
    providerStatus: 'disabled',
    outcome: 'rejected',
    terminal: true,
    reasonTexts: [],
    pollForDetails: true,
  },
  'user.closed': {
    providerStatus: 'closed',
    outcome: 'rejected',
    terminal: true,
    reasonTexts: [],
    pollForDetails: true,
  },
};
