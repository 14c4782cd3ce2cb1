/**
 * Verification outcomes at the simulated Kraken, decided by the user's data (DESIGN.md outcome
 * table), and the engine that applies them after a delay.
 *
 * The lifecycle is driven by verification submissions (PROVIDERS.md §5 rule 5): a new user waits in
 * `initial_onboarding` until the partner submits a verification (`POST /b2b/verifications/{user}`),
 * which starts a decision on the user's fields and the latest verification's metadata. A PATCH of a
 * user that has a verification re-runs the decision [INF] (Kraken re-evaluates the outstanding
 * required actions). Kraken has no failure event: a rejection is a required action with reasons and
 * a deadline, visible only through `GET /b2b/users/{user}`. Success emits `user.verified`; the
 * terminal negatives emit `user.disabled` / `user.closed`, whose reasons only the GET shows.
 *
 * Reason codes are [UNKNOWN] at Kraken beyond `initial_onboarding`; these are ours.
 */
import type { TaskTracker } from '../shared/tasks.js';
import type { KrakenState } from './state.js';
import type {
  KrakenSimUser,
  KrakenSimVerification,
  KrakenWebhookEvent,
  RequiredAction,
  SimOutcome,
} from './types.js';
import type { WebhookDispatcher } from './webhooks.js';

export const REASONS = {
  onboarding: 'initial_onboarding',
  sanctions: 'sanctions_screening_match',
  documentExpired: 'identity_document_expired',
  fraud: 'suspected_document_fraud',
  sessionExpired: 'verification_session_expired',
  missingTaxIds: 'missing_field: tax_ids',
  closed: 'closed_at_user_request',
} as const;

/** What a decision reads: the user's request fields and its verification submissions. */
export interface DecisionInput {
  fields: Readonly<Record<string, unknown>>;
  verifications: readonly Pick<KrakenSimVerification, 'type' | 'metadata'>[];
}

interface OutcomeRow {
  /** The DESIGN.md row, for readers and test names. */
  data: string;
  when(d: DecisionInput): boolean;
  outcome: SimOutcome;
}

const name = (d: DecisionInput): { first_name?: unknown; last_name?: unknown } =>
  d.fields.full_name ?? {};
const latestDocumentNumber = (d: DecisionInput): unknown =>
  d.verifications.findLast((v) => v.type === 'identity_document')?.metadata.document_number;

/** The outcome table, first matching row wins; no row matches → verified. */
export const OUTCOME_TABLE: readonly OutcomeRow[] = [
  {
    data: 'full_name.last_name Sanctioned',
    when: (d) => name(d).last_name === 'Sanctioned',
    outcome: { kind: 'require', reasons: [REASONS.sanctions] },
  },
  {
    data: 'verification metadata.document_number starting EXPIRED',
    when: (d) => {
      const n = latestDocumentNumber(d);
      return typeof n === 'string' && n.startsWith('EXPIRED');
    },
    outcome: { kind: 'require', reasons: [REASONS.documentExpired] },
  },
  {
    data: 'full_name.last_name Fraud',
    when: (d) => name(d).last_name === 'Fraud',
    outcome: { kind: 'disable', reasons: [REASONS.fraud] },
  },
  {
    data: 'full_name.last_name Closed',
    when: (d) => name(d).last_name === 'Closed',
    outcome: { kind: 'close', reasons: [REASONS.closed] },
  },
  {
    // The first verification's session expired; a re-submitted verification passes.
    data: 'full_name.first_name Sessionexpired, first verification',
    when: (d) => name(d).first_name === 'Sessionexpired' && d.verifications.length < 2,
    outcome: { kind: 'require', reasons: [REASONS.sessionExpired] },
  },
  {
    data: 'no tax_ids [INF]',
    when: (d) => !Array.isArray(d.fields.tax_ids) || d.fields.tax_ids.length === 0,
    outcome: { kind: 'require', reasons: [REASONS.missingTaxIds] },
  },
];

/** Pure: the outcome of the user's current data. */
export function decide(d: DecisionInput): SimOutcome {
  return OUTCOME_TABLE.find((row) => row.when(d))?.outcome ?? { kind: 'verify' };
}

export interface OutcomeEngine {
  /** The `initial_onboarding` action a new user starts with. */
  onboardingAction(): RequiredAction;
  /**
   * Runs a decision on the user's current data after the delay: on a new verification, and on a
   * PATCH of a user that already has one. Without a verification there is nothing to decide.
   */
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

const EVENT_OF: Record<SimOutcome['kind'], KrakenWebhookEvent | undefined> = {
  verify: 'user.verified',
  disable: 'user.disabled',
  close: 'user.closed',
  require: undefined, // Kraken has no failure event: the required action is all there is.
};

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
    const event = EVENT_OF[outcome.kind];
    if (event) deps.webhooks.emit([{ event, iiban: user.iiban }], deps.decisionDelayMs);
  };

  return {
    onboardingAction: () => action([REASONS.onboarding], inMs(deps.onboardingDeadlineMs)),
    start(user) {
      cancel(user);
      if (user.state !== 'ok' || user.verified || user.verifications.length === 0) return;
      user.runs += 1;
      // A re-run puts the user back under review until the new decision [INF].
      if (user.runs > 1) {
        user.requiredActions = [action([REASONS.onboarding], inMs(deps.onboardingDeadlineMs))];
      }
      const outcome = decide(user);
      if (outcome.kind === 'verify' && !deps.autoVerify) return;
      pending.set(
        user.iiban,
        deps.tasks.after(deps.decisionDelayMs, () => apply(user, outcome)),
      );
    },
    apply,
  };
}
