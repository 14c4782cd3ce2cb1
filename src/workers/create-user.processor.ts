/**
 * create-user: preflight, then create the provider user with the idempotency key the case's state
 * names (`createKeyRound`: this round's own key, or an earlier round's once that create may have
 * committed unseen). Safe to run twice: a case that already moved on is left alone, and the
 * provider call carries the same key on every run.
 */
import type { Logger } from 'pino';
import { createKeyRound } from '../kyc/state-machine.js';
import { caseIdempotencyKey } from '../lib/ids.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { CaseCommands } from '../queue/case-commands.js';
import { CreateUserJob } from '../queue/catalog.js';
import type { CaseStore } from '../store/case-store.js';
import type { JobLike } from './job-context.js';
import { settleProviderError } from './provider-call.js';

export interface CreateUserDeps {
  store: CaseStore;
  commands: CaseCommands;
  providers: ProviderRegistry;
  preflight: 'enforce' | 'off';
  log: Logger;
}

export function createUserProcessor(deps: CreateUserDeps) {
  return async (job: JobLike, signal: AbortSignal): Promise<string> => {
    const { caseId, round } = CreateUserJob.parse(job.data);
    const snap = await deps.store.snapshot(caseId);
    const c = snap?.c;
    if (!snap || !c || c.createRound !== round || (c.status !== 'queued' && c.status !== 'creating')) return 'skipped';
    const adapter = deps.providers.get(c.provider);
    // Each apply decides on the snapshot the previous one answered (one read for the whole job).
    const started = await deps.commands.apply(caseId, { kind: 'create_started' }, undefined, snap);
    const current = 'snapshot' in started ? started.snapshot : undefined;
    const inputKey = `create:${round}`;
    if (deps.preflight === 'enforce') {
      const missing = adapter.preflight(c.applicant);
      if (missing.length > 0) {
        const reasons = missing.map((m) => ({ code: 'missing_data' as const, field: m.field, providerText: m.message }));
        await deps.commands.apply(caseId, { kind: 'preflight_failed', reasons }, inputKey, current);
        return 'preflight_failed';
      }
    }
    try {
      const idempotencyKey = caseIdempotencyKey(caseId, 'create', createKeyRound(c));
      const user = await adapter.createUser(c.applicant, { idempotencyKey, signal });
      await deps.commands.apply(caseId, { kind: 'user_created', ...user }, inputKey, current);
      return user.adopted ? 'adopted' : 'created';
    } catch (err) {
      const failure = settleProviderError(err, job, c.provider, signal);
      deps.log.warn({ caseId, provider: c.provider, err: failure.reason.providerText }, 'create-user failed permanently');
      await deps.commands.apply(caseId, { kind: 'create_failed', ...failure }, inputKey, current);
      return 'failed';
    }
  };
}
