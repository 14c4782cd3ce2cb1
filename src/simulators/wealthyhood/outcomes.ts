/**
 * KYC outcomes, decided by the applicant's data (DESIGN.md outcome table) and applied after a
 * delay: `kycStatus` goes `pending` → `passed` | `failed`, learnt by polling only (no webhooks).
 *
 * Wealthyhood's create body carries no identity document (Wealthyhood collects it itself), so the
 * table's "`identityDocument.number` starts with `EXPIRED`" row is read from the only
 * document-like value it receives: `taxResidency.value` starting with `EXPIRED`.
 */
import type { TaskTracker } from '../shared/tasks.js';
import type { WealthyhoodState } from './state.js';
import type { SimUser } from './types.js';

export const REASONS = {
  sanctions: 'Sanctions screening match',
  documentExpired: 'Identity document expired',
  fraud: 'Suspected document fraud',
  sessionExpired: 'Verification session expired',
} as const;

export type Decision = { kycStatus: 'passed' } | { kycStatus: 'failed'; reasons: string[] };

/** Pure: the decision for a create body. */
export function decide(body: Readonly<Record<string, unknown>>): Decision {
  const fail = (reason: string): Decision => ({ kycStatus: 'failed', reasons: [reason] });
  const tax = body.taxResidency as { value?: unknown } | undefined;
  if (body.lastName === 'Sanctioned') return fail(REASONS.sanctions);
  if (typeof tax?.value === 'string' && tax.value.startsWith('EXPIRED')) {
    return fail(REASONS.documentExpired);
  }
  if (body.lastName === 'Fraud') return fail(REASONS.fraud);
  // Wealthyhood has no documented re-run, so an expired session stays failed.
  if (body.firstName === 'Sessionexpired') return fail(REASONS.sessionExpired);
  return { kycStatus: 'passed' };
}

export interface OutcomeEngine {
  /** Schedules the decision of a newly created user. */
  start(user: SimUser): void;
}

export function createOutcomeEngine(deps: {
  state: WealthyhoodState;
  tasks: TaskTracker;
  decisionDelayMs: number;
}): OutcomeEngine {
  return {
    start(user) {
      const decision = decide(user.body);
      deps.tasks.after(deps.decisionDelayMs, () => {
        user.kycStatus = decision.kycStatus;
        user.kycFailureReasons = decision.kycStatus === 'failed' ? [...decision.reasons] : [];
        deps.state.touch(user);
      });
    },
  };
}
