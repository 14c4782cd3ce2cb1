/**
 * Verification outcomes at the simulated Kraken, decided by the user's data (DESIGN.md outcome
 * table, as far as Kraken's user fields carry it), and the engine that applies them after a delay.
 *
 * Kraken has no failure event (PROVIDERS.md §1.8, rule 5): a rejection is a required action with
 * reasons and a deadline, visible only through `GET /b2b/users/{user}`. Success emits
 * `user.verified`; the terminal negatives emit `user.disabled` / `user.closed`.
 *
 * | data (request fields)            | outcome                                                     |
 * |----------------------------------|-------------------------------------------------------------|
 * | complete, nothing special        | verified after the delay, `user.verified`                   |
 * | `full_name.last_name` Sanctioned | required action `sanctions_screening_match`, no webhook     |
 * | `full_name.last_name` Fraud      | state `disabled`, reason `suspected_document_fraud`, `user.disabled` |
 * | `full_name.last_name` Closed     | state `closed`, `user.closed`                               |
 * | no `tax_ids`                     | required action `missing_field: tax_ids` [INF]; a PATCH that adds them re-runs the decision |
 *
 * Reason codes are [UNKNOWN] at Kraken beyond `initial_onboarding`; these are ours. Document
 * problems (`identity_document_expired`) cannot come from user data, since Embed's user fields carry
 * no document: script them with `apply(iiban, {kind: 'require', ...})`.
 */
import type { TaskTracker } from '../shared/tasks.js';
import type { KrakenState } from './state.js';
import type { KrakenSimUser, KrakenWebhookEvent, RequiredAction, SimOutcome } from './types.js';
import type { WebhookDispatcher } from './webhooks.js';

export const REASONS = {
  onboarding: 'initial_onboarding',
  sanctions: 'sanctions_screening_match',
  documentExpired: 'identity_document_expired',
  fraud: 'suspected_document_fraud',
  missingTaxIds: 'missing_field: tax_ids',
  closed: 'closed_at_user_request',
} as const;

/** Pure: the outcome of the user's current data. */
export function decide(fields: Readonly<Record<string, unknown>>): SimOutcome {
  const name = (fields.full_name ?? {}) as { last_name?: unknown };
  if (name.last_name === 'Sanctioned') return { kind: 'require', reasons: [REASONS.sanctions] };
  if (name.last_name === 'Fraud') return { kind: 'disable', reasons: [REASONS.fraud] };
  if (name.last_name === 'Closed') return { kind: 'close', reasons: [REASONS.closed] };
  const taxIds = fields.tax_ids;
  if (!Array.isArray(taxIds) || taxIds.length === 0) {
    return { kind: 'require', reasons: [REASONS.missingTaxIds] };
  }
  return { kind: 'verify' };
}

export interface OutcomeEngine {
  /** The `initial_onboarding` action a new user starts with. */
  onboardingAction(): RequiredAction;
  /** Runs a decision on the user's current data (create, and PATCH of an unverified user). */
  start(user: KrakenSimUser): void;
  /** Applies an outcome now, cancelling any pending decision. */
  apply(user: KrakenSimUser, outcome: SimOutcome): void;
}

export interface OutcomeDeps {
  state: KrakenState;
  tasks: TaskTracker;
  webhooks: WebhookDispatcher;
  decisionDelayMs: number;
  autoVerify: boolean;
  onboardingDeadlineMs: number;
  actionDeadlineMs: number;
  now: () => number;
}

export function createOutcomeEngine(deps: OutcomeDeps): OutcomeEngine {
  const pending = new Map<string, () => void>();
  const inMs = (ms: number): string => new Date(deps.now() + ms).toISOString();
  const action = (reasons: string[], deadline: string): RequiredAction => ({
    action_type: 'verification',
    verification_type: 'identity',
    reasons,
    deadline,
  });

  const cancel = (user: KrakenSimUser): void => {
    pending.get(user.iiban)?.();
    pending.delete(user.iiban);
  };

  const apply = (user: KrakenSimUser, outcome: SimOutcome): void => {
    cancel(user);
    switch (outcome.kind) {
      case 'verify':
        user.verified = true;
        user.requiredActions = [];
        break;
      case 'require':
        user.requiredActions = [
          action(outcome.reasons, outcome.deadline ?? inMs(deps.actionDeadlineMs)),
        ];
        break;
      case 'disable':
      case 'close':
        user.state = outcome.kind === 'disable' ? 'disabled' : 'closed';
        user.statusReasons = [...(outcome.reasons ?? [])];
        user.requiredActions = [];
        break;
    }
    deps.state.touch(user);
    const events: Record<SimOutcome['kind'], KrakenWebhookEvent | undefined> = {
      verify: 'user.verified',
      disable: 'user.disabled',
      close: 'user.closed',
      require: undefined, // Kraken has no failure event: the required action is all there is.
    };
    const event = events[outcome.kind];
    if (event) deps.webhooks.emit([{ event, iiban: user.iiban }], deps.decisionDelayMs);
  };

  return {
    onboardingAction: () => action([REASONS.onboarding], inMs(deps.onboardingDeadlineMs)),
    start(user) {
      cancel(user);
      if (user.state !== 'ok' || user.verified) return;
      user.runs += 1;
      // A re-run (after a PATCH) puts the user back under review until the new decision [INF].
      if (user.runs > 1) {
        user.requiredActions = [action([REASONS.onboarding], inMs(deps.onboardingDeadlineMs))];
      }
      const outcome = decide(user.fields);
      if (outcome.kind === 'verify' && !deps.autoVerify) return;
      pending.set(
        user.iiban,
        deps.tasks.after(deps.decisionDelayMs, () => apply(user, outcome)),
      );
    },
    apply,
  };
}
