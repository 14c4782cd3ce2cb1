/**
 * poll: read the provider user's state and queue it on `kyc-events`, the same path as a webhook
 * (source `poll`, deduplicated on the observed state); the events worker applies it, and counts
 * drift when it finds a state the provider's webhooks never delivered. Deadlines (Kraken
 * `required_actions[].deadline`) escalate the case ahead of time.
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
import type { Producer } from '../queue/producer.js';
import type { CaseStore } from '../store/case-store.js';
import { deadlineDue } from '../store/poll-schedule.js';
import type { JobLike } from './job-context.js';

export interface PollDeps {
  store: CaseStore;
  commands: CaseCommands;
  producer: Producer;
  providers: ProviderRegistry;
  metrics: Metrics;
  clock: Clock;
  log: Logger;
  /** Escalate this long before a provider deadline passes (default 24 h). */
  deadlineMarginMs: number;
}

/**
 * A rejection the poll found without reasons, for providers whose GET never carries them because
 * they come only with the failure webhook (Kira). Adapters of providers without webhooks
 * (Wealthyhood) or whose GET is where reasons live (Kraken) return their own reason instead, so this
 * text never blames a webhook that cannot exist.
 */
const NO_REASONS: Reason = {
  code: 'unknown',
  providerText: 'rejected, but the provider returns no reasons by polling: they were lost with the undelivered webhook',
};

/** Same observed state → same id, so polling an unchanged state again is a no-op. */
export function pollEvent(c: KycCase, s: ProviderUserState, webhookExpected: boolean): ProviderEvent {
  const reasons = s.outcome === 'rejected' && s.reasons.length === 0 ? [NO_REASONS] : s.reasons;
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
    basis: { attempts: c.attempts, createRound: c.createRound },
    webhookExpected,
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
    const adapter = deps.providers.get(c.provider);
    const state = await adapter.getUser(c.providerUserId, { signal });
    const deadline = state.deadline ?? c.deadline;
    // The next poll first, from what was just read (the deadline caps it): the event, applied
    // later by the events worker, reschedules the case itself when it changes its status, and its
    // schedule must not be overwritten by this one.
    await deps.store.schedulePoll({ ...c, deadline }, deps.clock.now());
    const queued = await deps.producer.enqueueEvent(pollEvent(c, state, adapter.webhooks));
    // At or after deadline − margin; the poll schedule makes sure a poll happens by then.
    if (deadline && deadlineDue(deadline, deps.clock.now(), deps.deadlineMarginMs)) {
      await deps.commands.apply(caseId, { kind: 'deadline_near', deadline }, `deadline:${deadline}`);
    }
    return queued === 'accepted' ? 'queued' : 'unchanged';
  };
}
