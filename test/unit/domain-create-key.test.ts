/**
 * Which idempotency key a create round sends (createKeyRound): a new key only while nothing can
 * have been created; the key of a create that may have committed unseen, for good.
 */
import { describe, expect, it } from 'vitest';
import { createKeyRound, decide, type CaseInput, type Policy } from '../../src/kyc/state-machine.js';
import type { KycCase } from '../../src/kyc/types.js';
import { fixedClock } from '../../src/lib/clock.js';
import { PermanentError, RetryableError } from '../../src/providers/errors.js';
import type { JobLike } from '../../src/workers/job-context.js';
import { settleProviderError } from '../../src/workers/provider-call.js';

const NOW = fixedClock('2026-05-01T12:00:00.000Z').now();
const policy: Policy = { maxAttempts: 3 };

function kase(over: Partial<KycCase> = {}): KycCase {
  return {
    id: 'case-1', provider: 'kira', externalId: 'partner-user-1', status: 'creating',
    applicant: { externalId: 'partner-user-1' }, reasons: [], attempts: 0, createRound: 0,
    version: 3, createdAt: '2026-05-01T11:00:00.000Z', updatedAt: '2026-05-01T11:00:00.000Z',
    ...over,
  };
}

/** Applies one input the way the store does (patch over the case, new status). */
function step(c: KycCase, input: CaseInput): KycCase {
  const t = decide(c, input, policy, NOW);
  if (!t) throw new Error(`${input.kind} changed nothing`);
  return { ...c, ...t.patch, status: t.to, version: c.version + 1 };
}

const unanswered: CaseInput = {
  kind: 'create_failed',
  reason: { code: 'provider_error', providerText: 'kira unavailable after 20 attempts' },
  mayHaveCommitted: true,
};
const refused: CaseInput = {
  kind: 'create_failed',
  reason: { code: 'provider_error', providerText: 'kira refused the request (400)' },
  mayHaveCommitted: false,
};
const retry: CaseInput = { kind: 'resolve', action: 'retry' };
const creating = (c: KycCase): KycCase => step(c, { kind: 'create_started' });

describe('createKeyRound', () => {
  it('takes a new key for a new round after a definitive refusal (nothing was created)', () => {
    const c = step(step(kase(), refused), retry);
    expect(c.status).toBe('queued');
    expect(c.createKeyRound).toBeUndefined();
    expect(c.createRound).toBe(1);
    expect(createKeyRound(c)).toBe(1);
  });

  it('pins the key of a create that may have committed: a resolve retry reuses it', () => {
    const escalated = step(kase(), unanswered);
    expect(escalated.status).toBe('escalated');
    expect(escalated.createKeyRound).toBe(0);
    expect(escalated.escalation?.proposedAction).toMatch(/may already hold a user.*reuses the idempotency key/);
    const again = step(escalated, retry);
    expect(again).toMatchObject({ status: 'queued', createRound: 1 });
    expect(createKeyRound(again)).toBe(0);
  });

  it('pins it across a PATCH of the applicant too (a changed body meets the same key)', () => {
    const again = step(step(kase(), unanswered), { kind: 'applicant_updated', patch: { occupation: 'chef' } });
    expect(again).toMatchObject({ status: 'queued', createRound: 1 });
    expect(createKeyRound(again)).toBe(0);
  });

  it('keeps the first pinned key for good: a later refusal or a later unanswered round does not move it', () => {
    let c = creating(step(step(kase(), unanswered), retry)); // round 1, pinned to 0
    c = creating(step(step(c, refused), retry)); // round 2
    expect(createKeyRound(c)).toBe(0);
    c = creating(step(step(c, unanswered), retry)); // round 3
    expect(c.createRound).toBe(3);
    expect(createKeyRound(c)).toBe(0);
  });

  it('pins the round the unanswered create ran in, not round 0', () => {
    const c = step(creating(step(step(kase(), refused), retry)), unanswered);
    expect(c.createRound).toBe(1);
    expect(c.createKeyRound).toBe(1);
  });
});

describe('settleProviderError: mayHaveCommitted', () => {
  const job = (attemptsMade: number, attempts: number): JobLike => ({ name: 'create-user', data: {}, attemptsMade, opts: { attempts } });

  it('is true when every attempt went unanswered (the last retryable failure)', () => {
    const f = settleProviderError(new RetryableError('timeout'), job(1, 2), 'kira');
    expect(f.mayHaveCommitted).toBe(true);
  });

  it('is true for a 409 the adapter could not resolve, false for any other refusal', () => {
    expect(settleProviderError(new PermanentError('conflict', 409), job(0, 20), 'kira').mayHaveCommitted).toBe(true);
    for (const status of [400, 401, 403, 422, undefined]) {
      expect(settleProviderError(new PermanentError('refused', status), job(0, 20), 'kira').mayHaveCommitted).toBe(false);
    }
  });

  it('rethrows a retryable failure before the last attempt (no verdict yet)', () => {
    expect(() => settleProviderError(new RetryableError('timeout'), job(0, 2), 'kira')).toThrow(RetryableError);
  });
});
