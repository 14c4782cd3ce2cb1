/**
 * provider-event: route a normalised provider event (webhook or poll) to its case and apply it.
 * The input key `evt:<providerEventId>` makes a redelivered or re-run event a no-op. A poll that
 * changes the case's status where a webhook should have done it is drift: counted and logged.
 */
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.js';
import type { CaseCommands } from '../queue/case-commands.js';
import { ProviderEventJob } from '../queue/catalog.js';
import type { CaseStore } from '../store/case-store.js';
import { isLastAttempt, type JobLike } from './job-context.js';

/** The case is not linked to this provider user yet (its create may still be in flight). */
export class CaseNotLinkedError extends Error {
  override readonly name = 'CaseNotLinkedError';
}

export function providerEventProcessor(deps: { store: CaseStore; commands: CaseCommands; metrics: Metrics; log: Logger }) {
  return async (job: JobLike): Promise<string> => {
    const { event } = ProviderEventJob.parse(job.data);
    const caseId = await deps.store.findByProviderUser(event.provider, event.userRef);
    if (!caseId) {
      if (!isLastAttempt(job)) throw new CaseNotLinkedError(`no case for ${event.provider} user yet`);
      await deps.store.keepUnmatchedEvent(event);
      deps.log.warn({ provider: event.provider, providerEventId: event.providerEventId }, 'event matched no case; kept for inspection');
      return 'unmatched';
    }
    const res = await deps.commands.apply(caseId, { kind: 'provider_event', event }, `evt:${event.providerEventId}`);
    if (event.source === 'poll' && event.webhookExpected && res.outcome === 'applied' && res.previous.status !== res.case.status) {
      deps.metrics.reconcileDrift.inc({ provider: event.provider });
      deps.log.info({ caseId, provider: event.provider, from: res.previous.status, to: res.case.status }, 'poll found a state no webhook delivered');
    }
    return res.outcome;
  };
}
