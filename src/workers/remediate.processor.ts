/**
 * remediate: push the corrected data to the provider and re-trigger verification, once per
 * attempt (the re-issue carries an idempotency key fixed by case and attempt).
 */
import type { Logger } from 'pino';
import { caseIdempotencyKey } from '../lib/ids.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { CaseCommands } from '../queue/case-commands.js';
import { RemediateJob } from '../queue/catalog.js';
import type { CaseStore } from '../store/case-store.js';
import type { JobLike } from './job-context.js';
import { settleProviderError } from './provider-call.js';

export function remediateProcessor(deps: { store: CaseStore; commands: CaseCommands; providers: ProviderRegistry; log: Logger }) {
  return async (job: JobLike, signal: AbortSignal): Promise<string> => {
    const { caseId, attempt } = RemediateJob.parse(job.data);
    const c = await deps.store.get(caseId);
    if (!c || c.status !== 'remediating' || c.attempts !== attempt || !c.providerUserId) return 'skipped';
    const inputKey = `remediate:${attempt}`;
    try {
      const changedFields = c.unsyncedFields ?? [];
      const detail = await deps.providers.get(c.provider).remediate(
        { providerUserId: c.providerUserId, applicant: c.applicant, reasons: c.reasons, attempt, changedFields },
        { idempotencyKey: caseIdempotencyKey(caseId, 'reissue', attempt), signal },
      );
      await deps.commands.apply(caseId, { kind: 'remediation_submitted', attempt, detail, synced: changedFields }, inputKey);
      return 'submitted';
    } catch (err) {
      const failure = settleProviderError(err, job, c.provider, signal);
      deps.log.warn({ caseId, provider: c.provider, err: failure.reason.providerText }, 'remediation failed');
      await deps.commands.apply(caseId, { kind: 'remediation_failed', ...failure }, inputKey);
      return 'failed';
    }
  };
}
