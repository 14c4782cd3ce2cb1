/**
 * poll: read the provider user's state and feed it through the same path as a webhook
 * (source `poll`). A state no webhook delivered is drift: counted and said in the timeline.
 * Deadlines (Kraken `required_actions[].deadline`) escalate the case ahead of time.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { KycCase, ProviderEvent, Reason } from '../kyc/types.js';
import { isTerminal } from '../kyc/types.js';
import type { Clock } from '../lib/clock.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ProviderUserState } from '../providers/provider-adapter.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { CaseCommands } from '../queue/case-commands.js';
import { PollJob } from '../queue/catalog.js';
import type { CaseStore } from '../store/case-store.js';
import type { JobLike } from './job-context.js';

export interface PollDeps {
  store: CaseStore;
  commands: CaseCommands;
  providers: ProviderRegistry;
  metrics: Metrics;
  clock: Clock;
  log: Logger;
  /** Escalate this long before a provider deadline passes (default 24 h). */
  deadlineMarginMs: number;
}

const LOST_REASONS: Reason = {
  code: 'unknown',
  providerText: 'rejected, but the provider returns no reasons by polling: they were lost with the undelivered webhook',
};

/** Same observed state → same id, so polling an unchanged state again is a no-op. */
export function pollEvent(c: KycCase, s: ProviderUserState): ProviderEvent {
  const reasons = s.outcome === 'rejected' && s.reasons.length === 0 ? [LOST_REASONS] : s.reasons;
  const fingerprint = [s.providerUserId, s.providerStatus, s.outcome, c.attempts, c.createRound, ...reasons.map((r) => `${r.code}:${r.field ?? ''}`), s.deadline ?? ''].join('|');
  return {
    provider: c.provider,
    providerEventId: `poll-${createHash('sha256').update(fingerprint).digest('hex').slice(0, 32)}`,
    type: 'poll',
    userRef: s.providerUserId,
    source: 'poll',
    providerStatus: s.providerStatus,
    outcome: s.outcome,
    terminal: s.terminal,
    reasons,
    ...(s.deadline ? { deadline: s.deadline } : {}),
  };
}

export function pollProcessor(deps: PollDeps) {
  return async (job: JobLike, signal: AbortSignal): Promise<string> => {
    const { caseId } = PollJob.parse(job.data);
    const c = await deps.store.get(caseId);
    if (!c || isTerminal(c.status) || !c.providerUserId) {
      if (c) await deps.store.schedulePoll(c, deps.clock.now());
      return 'skipped';
    }
    deps.metrics.reconcilePolls.inc({ provider: c.provider });
    const state = await deps.providers.get(c.provider).getUser(c.providerUserId, { signal });
    const res = await deps.commands.apply(caseId, { kind: 'provider_event', event: pollEvent(c, state) }, `evt:${pollEvent(c, state).providerEventId}`);
    let latest = res.outcome === 'missing' ? c : res.case;
    if (res.outcome === 'applied' && res.previous.status !== res.case.status) {
      deps.metrics.reconcileDrift.inc({ provider: c.provider });
      deps.log.info({ caseId, provider: c.provider, from: res.previous.status, to: res.case.status }, 'poll found a state no webhook delivered');
    }
    const deadline = state.deadline ?? latest.deadline;
    if (deadline && Date.parse(deadline) - deps.clock.now().getTime() <= deps.deadlineMarginMs) {
      const d = await deps.commands.apply(caseId, { kind: 'deadline_near', deadline }, `deadline:${deadline}`);
      if (d.outcome === 'applied') latest = d.case;
    }
    await deps.store.schedulePoll(latest, deps.clock.now());
    return res.outcome;
  };
}
