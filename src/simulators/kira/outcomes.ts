/**
 * Verification outcomes, decided by the applicant's data (DESIGN.md outcome table), and the
 * engine that applies them after a delay and emits the matching webhooks.
 *
 * Deterministic quirks, keyed on the user's creation order `seq`, exercise "gate on status"
 * (PROVIDERS.md §5 rule 13): while pending, users 2, 6, 10, … read `ACTIVE` and users 4, 8, 12, …
 * read `REVIEW` (both undocumented) instead of `VERIFYING`, and every 3rd verified user keeps
 * `verification_status: in_review` next to `status: VERIFIED`.
 */
import type { TaskTracker } from '../shared/tasks.js';
import type { KiraState } from './state.js';
import type { KiraUserStatus, KiraVerificationStatus, SimUser } from './types.js';
import type { WebhookDispatcher } from './webhooks.js';

export type Decision =
  | { kind: 'verify' }
  | {
      kind: 'reject';
      reasons: string[];
      /** sandbox auto-reject leaves it `unverified` */ keepVerificationStatus: boolean;
    };

export const REASONS = {
  sanctions: 'Sanctions screening match',
  documentExpired: 'Identity document expired',
  fraud: 'Suspected document fraud',
  sessionExpired: 'Verification session expired',
  manual: 'Rejected after manual review',
} as const;

/** Fields whose absence makes the sandbox auto-reject (source_of_funds is the documented one). */
const AUTO_REJECT_FIELDS = ['source_of_funds'] as const;

export function missingRequired(fields: Readonly<Record<string, unknown>>): string[] {
  return AUTO_REJECT_FIELDS.filter(
    (f) => fields[f] === undefined || fields[f] === null || fields[f] === '',
  );
}

/** Pure: the outcome of verification run number `attempt` (1-based) on `fields`. */
export function decide(fields: Readonly<Record<string, unknown>>, attempt: number): Decision {
  const missing = missingRequired(fields);
  if (missing.length > 0) {
    return {
      kind: 'reject',
      reasons: missing.map((f) => `Missing required field: ${f}`),
      keepVerificationStatus: true,
    };
  }
  const reject = (reason: string): Decision => ({
    kind: 'reject',
    reasons: [reason],
    keepVerificationStatus: false,
  });
  if (fields.last_name === 'Sanctioned') return reject(REASONS.sanctions);
  if (typeof fields.document_number === 'string' && fields.document_number.startsWith('EXPIRED')) {
    return reject(REASONS.documentExpired);
  }
  if (fields.last_name === 'Fraud') return reject(REASONS.fraud);
  if (fields.first_name === 'Sessionexpired' && attempt === 1)
    {return reject(REASONS.sessionExpired);}
  return { kind: 'verify' };
}

/** The status a user reads while a verification runs (see the quirks above). */
export function pendingStatus(user: SimUser): KiraUserStatus {
  if (user.seq % 4 === 0) return 'REVIEW';
  return user.seq % 4 === 2 ? 'ACTIVE' : 'VERIFYING';
}

function verifiedVerificationStatus(user: SimUser): KiraVerificationStatus {
  return user.seq % 3 === 0 ? 'in_review' : 'verified';
}

export interface OutcomeEngine {
  /** Starts a verification run (create or re-issue) on the user's current data. */
  start(user: SimUser): void;
  /** The "Kira contact flips it" hook: cancels any pending decision and applies this one. */
  flip(user: SimUser, status: 'VERIFIED' | 'REJECTED', reasons?: string[]): void;
}

export interface OutcomeDeps {
  state: KiraState;
  tasks: TaskTracker;
  webhooks: WebhookDispatcher;
  autoRejectDelayMs: number;
  verifyDelayMs: number;
  autoVerify: boolean;
}

export function createOutcomeEngine(deps: OutcomeDeps): OutcomeEngine {
  const pending = new Map<string, () => void>();

  const apply = (user: SimUser, decision: Decision, delayMs: number): void => {
    pending.get(user.userId)?.();
    pending.delete(user.userId);
    const previous = user.status;
    if (decision.kind === 'verify') {
      user.status = 'VERIFIED';
      user.verificationStatus = verifiedVerificationStatus(user);
      user.lastReasons = [];
    } else {
      user.status = 'REJECTED';
      if (!decision.keepVerificationStatus) user.verificationStatus = 'rejected';
      user.lastReasons = [...decision.reasons];
    }
    deps.state.touch(user);
    const changed = {
      event: 'user.status_changed',
      userId: user.userId,
      data: { previous_status: previous, new_status: user.status },
    } as const;
    const outcome =
      decision.kind === 'verify'
        ? ({
            event: 'user.verification.accepted',
            userId: user.userId,
            data: { status: 'VERIFIED' },
          } as const)
        : ({
            event: 'user.verification.failed',
            userId: user.userId,
            data: { verification_status: user.verificationStatus, reasons: [...decision.reasons] },
          } as const);
    deps.webhooks.emit([changed, outcome], delayMs);
  };

  return {
    start(user) {
      pending.get(user.userId)?.();
      pending.delete(user.userId);
      user.verificationAttempts += 1;
      const decision = decide(user.fields, user.verificationAttempts);
      user.status = pendingStatus(user);
      const autoReject = decision.kind === 'reject' && decision.keepVerificationStatus;
      user.verificationStatus = autoReject ? 'unverified' : 'started';
      deps.state.touch(user);
      if (decision.kind === 'verify' && !deps.autoVerify) return;
      const delay = decision.kind === 'verify' ? deps.verifyDelayMs : deps.autoRejectDelayMs;
      const cancel = deps.tasks.after(delay, () => apply(user, decision, delay));
      pending.set(user.userId, cancel);
    },
    flip(user, status, reasons) {
      if (user.status === status) return;
      const decision: Decision =
        status === 'VERIFIED'
          ? { kind: 'verify' }
          : {
              kind: 'reject',
              reasons: reasons && reasons.length > 0 ? reasons : [REASONS.manual],
              keepVerificationStatus: false,
            };
      apply(user, decision, 0);
    },
  };
}
