import { afterEach, describe, expect, it } from 'vitest';
import { applicant, startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function onboard(s: Stack, a: Record<string, unknown>): Promise<string> {
  const res = await s.api('/v1/onboardings', { body: { provider: 'kira', applicant: a } });
  expect(res.status).toBe(202);
  return res.body.caseId as string;
}

async function until(s: Stack, caseId: string, status: string, timeoutMs = 20_000) {
  return waitFor(async () => {
    const r = await s.api(`/v1/cases/${caseId}`);
    return r.body.status === status ? r.body : undefined;
  }, { timeoutMs, what: `case ${caseId} to be ${status}` });
}

const createCalls = (s: Stack) => s.sim.requests().filter((r) => r.method === 'POST' && r.path === '/v1/users');

describe('Kira onboarding end to end', () => {
  it('verifies a complete applicant; the timeline shows create, webhook and decision', async () => {
    stack = await startStack();
    const a = applicant();
    const caseId = await onboard(stack, a);
    const c = await until(stack, caseId, 'verified');
    const events = (c.timeline as { event: string; to: string }[]).map((e) => e.event);
    expect(events[0]).toBe('onboarding_received');
    expect(events).toContain('provider_user_created');
    expect(c.timeline.at(-1)).toMatchObject({ to: 'verified', source: 'webhook' });
    expect(c.providerStatus).toBe('VERIFIED');
    expect(stack.sim.users().filter((u) => u.externalId === a.externalId)).toHaveLength(1);
    expect(createCalls(stack)[0]!.idempotencyKey).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    const again = await stack.api('/v1/onboardings', { body: { provider: 'kira', applicant: a } });
    expect(again.status).toBe(200);
    expect(again.body.caseId).toBe(caseId);
  });

  it('PREFLIGHT=enforce: a case without sourceOfFunds escalates without calling Kira; PATCH resumes it to verified', async () => {
    stack = await startStack({ env: { PREFLIGHT: 'enforce' } });
    const { sourceOfFunds: _s, ...incomplete } = applicant();
    const caseId = await onboard(stack, incomplete);
    const c = await until(stack, caseId, 'escalated');
    expect(c.reasons).toEqual([expect.objectContaining({ code: 'missing_data', field: 'sourceOfFunds' })]);
    expect(c.escalation.needsFields).toEqual(['sourceOfFunds']);
    expect(createCalls(stack)).toHaveLength(0);

    const patched = await stack.api(`/v1/cases/${caseId}/applicant`, { method: 'PATCH', body: { sourceOfFunds: 'salary' } });
    expect(patched.status).toBe(202);
    await until(stack, caseId, 'verified');
    expect(createCalls(stack).length).toBeGreaterThanOrEqual(1);
    expect(stack.sim.users()).toHaveLength(1);
  });

  it('PREFLIGHT=off: Kira auto-rejects, the case escalates with the webhook reasons; PATCH remediates (PUT + re-issue) to verified', async () => {
    stack = await startStack({ env: { PREFLIGHT: 'off' } });
    const { sourceOfFunds: _s, ...incomplete } = applicant();
    const caseId = await onboard(stack, incomplete);
    const c = await until(stack, caseId, 'escalated');
    expect(c.reasons).toEqual([expect.objectContaining({ code: 'missing_data', field: 'sourceOfFunds', providerText: expect.stringContaining('source_of_funds') })]);
    expect(c.providerUserId).toBeTruthy();

    await stack.api(`/v1/cases/${caseId}/applicant`, { method: 'PATCH', body: { sourceOfFunds: 'savings' } });
    const done = await until(stack, caseId, 'verified');
    expect(done.attempts).toBe(1);
    const uid = done.providerUserId as string;
    const paths = stack.sim.requests().map((r) => `${r.method} ${r.path}`);
    expect(paths).toContain(`PUT /v1/users/${uid}`);
    expect(paths).toContain(`POST /v1/users/${uid}/verifications`);
    expect(stack.sim.users()[0]!.fields.source_of_funds).toBe('savings');
    expect(stack.sim.users()).toHaveLength(1);
  });

  it('remediates an expired session automatically and verifies with one attempt', async () => {
    stack = await startStack();
    const caseId = await onboard(stack, applicant({ firstName: 'Sessionexpired' }));
    const c = await until(stack, caseId, 'verified');
    expect(c.attempts).toBe(1);
    expect(c.timeline.map((e: { to: string }) => e.to)).toContain('remediating');
    expect(c.reasons).toEqual([expect.objectContaining({ code: 'session_expired' })]);
  });

  it('escalates a sanctions match and closes it when an operator rejects it', async () => {
    stack = await startStack();
    const caseId = await onboard(stack, applicant({ lastName: 'Sanctioned' }));
    const c = await until(stack, caseId, 'escalated');
    expect(c.reasons).toEqual([expect.objectContaining({ code: 'sanctions_or_pep', providerText: 'Sanctions screening match' })]);
    expect(c.escalation.proposedAction).toMatch(/manual review/);
    const listed = await stack.api('/v1/cases?status=escalated');
    expect(listed.body.items.map((i: { caseId: string }) => i.caseId)).toEqual([caseId]);

    const resolved = await stack.api(`/v1/cases/${caseId}/resolve`, { body: { action: 'reject', note: 'confirmed match' } });
    expect(resolved.status).toBe(202);
    const done = await until(stack, caseId, 'rejected');
    expect(done.timeline.at(-1)).toMatchObject({ event: 'resolved_reject', source: 'operator' });
    const again = await stack.api(`/v1/cases/${caseId}/resolve`, { body: { action: 'reject' } });
    expect(again.status).toBe(409);
  });

  it('an expired document: the operator supplies a new one and resolves with retry → PUT of the document, re-issue, verified', async () => {
    stack = await startStack();
    const expired = { type: 'passport', number: 'EXPIRED-123', country: 'DE', expiresOn: '2020-01-01' };
    const caseId = await onboard(stack, applicant({ identityDocument: expired }));
    const c = await until(stack, caseId, 'escalated');
    expect(c.reasons).toEqual([expect.objectContaining({ code: 'document_expired' })]);
    // A new document does not resume by itself (a document needs a human look): still escalated.
    const fresh = { type: 'passport', number: 'C01X00T99', country: 'DE', expiresOn: '2034-01-01' };
    expect((await stack.api(`/v1/cases/${caseId}/applicant`, { method: 'PATCH', body: { identityDocument: fresh } })).status).toBe(202);
    expect((await stack.api(`/v1/cases/${caseId}`)).body.status).toBe('escalated');
    expect((await stack.api(`/v1/cases/${caseId}/resolve`, { body: { action: 'retry', note: 'new passport checked' } })).status).toBe(202);
    const done = await until(stack, caseId, 'verified');
    expect(done.attempts).toBe(1);
    const puts = stack.sim.requests().filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(1);
    const user = stack.sim.users()[0]!;
    expect(user.fields.document_number).toBe('C01X00T99');
    expect(user.verificationAttempts).toBe(2);
    expect(done.timeline.find((e: { event: string }) => e.event === 'remediation_submitted').detail).toMatch(/^PUT .*document_number/);
  });

  it('rejects suspected fraud by rule', async () => {
    stack = await startStack();
    const caseId = await onboard(stack, applicant({ lastName: 'Fraud' }));
    const c = await until(stack, caseId, 'rejected');
    expect(c.reasons).toEqual([expect.objectContaining({ code: 'fraud_suspected' })]);
    expect(c.attempts).toBe(0);
  });
});
