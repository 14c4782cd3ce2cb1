/**
 * Applies an input to a case and follows up: metrics for the transition, then `ensureWork` so the
 * job the new state needs exists. Used by the api, the webhook path and every worker, so a change
 * of state and its follow-up work are decided in one place.
 */
import type { CaseInput } from '../kyc/state-machine.js';
import type { KycCase } from '../kyc/types.js';
import type { Clock } from '../lib/clock.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ApplyResult, CaseSnapshot, CaseStore } from '../store/case-store.js';
import type { Producer } from './producer.js';

const ACTION_OF: Partial<Record<KycCase['status'], string>> = {
  remediating: 'remediate',
  escalated: 'escalate',
  rejected: 'reject',
  verified: 'verify',
};

export function createCaseCommands(deps: { store: CaseStore; producer: Producer; metrics: Metrics; clock: Clock }) {
  function observe(res: Extract<ApplyResult, { outcome: 'applied' }>): void {
    const { case: c, previous, transition: t } = res;
    if (previous.status === c.status) return;
    deps.metrics.transitions.inc({ provider: c.provider, from: previous.status, to: c.status });
    const action = ACTION_OF[c.status];
    if (action) {
      const codes = t.reasons?.length ? [...new Set(t.reasons.map((r) => r.code))] : ['none'];
      for (const code of codes) deps.metrics.decisions.inc({ provider: c.provider, action, reason_code: code });
      if (t.reasons?.some((r) => r.code === 'unknown')) deps.metrics.unknownReasons.inc({ provider: c.provider });
    }
    if (c.status === 'verified' || c.status === 'rejected') {
      const secs = (Date.parse(c.updatedAt) - Date.parse(c.createdAt)) / 1000;
      deps.metrics.timeToDecision.observe({ provider: c.provider, outcome: c.status }, Math.max(0, secs));
    }
  }

  /** `current`: the case as the caller last saw it (an earlier answer's snapshot), saving a read. */
  async function apply(caseId: string, input: CaseInput, inputKey?: string, current?: CaseSnapshot): Promise<ApplyResult> {
    const res = await deps.store.apply(caseId, input, { now: deps.clock.now(), inputKey, current });
    if (res.outcome === 'applied') observe(res);
    if (res.outcome !== 'missing') await deps.producer.ensureWork(res.case);
    return res;
  }

  return { apply };
}

export type CaseCommands = ReturnType<typeof createCaseCommands>;
