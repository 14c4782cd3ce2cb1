import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applicant, startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ sim: { autoVerify: false, faults: { drop: 1 } } });
});
afterAll(async () => stack.close());

describe('partner API /v1', () => {
  it('answers 401 problem+json without a valid bearer token', async () => {
    for (const token of ['', 'wrong-token']) {
      const res = await fetch(`${stack.url}/v1/cases`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it('rejects an invalid applicant with 400 and every field at fault', async () => {
    const res = await stack.api('/v1/onboardings', {
      body: { provider: 'kira', applicant: { externalId: 'bad id!', email: 'nope', phone: '0151', nationalities: ['DEU'], address: { city: 'Berlin' }, shoeSize: 44 } },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    const fields = (res.body.errors as { field: string }[]).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['applicant.externalId', 'applicant.email', 'applicant.phone', 'applicant.nationalities.0', 'applicant.address.line1', 'applicant.address.country']));
    expect(JSON.stringify(res.body)).not.toMatch(/at \w+ \(|node_modules/);
    const unknownProvider = await stack.api('/v1/onboardings', { body: { provider: 'acme', applicant: applicant() } });
    expect(unknownProvider.status).toBe(404);
    expect(unknownProvider.headers.get('content-type')).toContain('application/problem+json');
    expect(unknownProvider.body.errors[0].field).toBe('provider');
    // a provider that is not a string is a malformed request, not a missing one
    const notAString = await stack.api('/v1/onboardings', { body: { provider: 7, applicant: applicant() } });
    expect(notAString.status).toBe(400);
    expect(notAString.body.errors[0].field).toBe('provider');
  });

  it('answers 400 for malformed JSON and 404 for unknown cases and routes', async () => {
    const res = await fetch(`${stack.url}/v1/onboardings`, { method: 'POST', headers: { authorization: 'Bearer test-token', 'content-type': 'application/json' }, body: '{"provider":' });
    expect(res.status).toBe(400);
    expect((await stack.api('/v1/cases/does-not-exist')).status).toBe(404);
    expect((await stack.api('/v1/cases/does-not-exist/applicant', { method: 'PATCH', body: { sourceOfFunds: 'salary' } })).status).toBe(404);
    expect((await stack.api('/v1/nothing-here')).status).toBe(404);
  });

  it('returns the same case for the same (provider, externalId)', async () => {
    const a = applicant();
    const first = await stack.api('/v1/onboardings', { body: { provider: 'kira', applicant: a } });
    const second = await stack.api('/v1/onboardings', { body: { provider: 'kira', applicant: { ...a, firstName: 'Other' } } });
    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    expect(second.body.caseId).toBe(first.body.caseId);
  });

  it('validates list queries and pages through cases with a cursor', async () => {
    expect((await stack.api('/v1/cases?status=pending')).status).toBe(400);
    expect((await stack.api('/v1/cases?limit=0')).status).toBe(400);
    expect((await stack.api('/v1/cases?cursor=garbage')).status).toBe(400);
    const ids = new Set<string>();
    for (let i = 0; i < 3; i += 1) ids.add((await stack.api('/v1/onboardings', { body: { provider: 'kira', applicant: applicant() } })).body.caseId);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await stack.api(`/v1/cases?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((c: { caseId: string }) => c.caseId));
      cursor = page.body.nextCursor;
    } while (cursor);
    for (const id of ids) expect(seen).toContain(id);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('refuses to change a terminal case (409) and to resolve a case that is not escalated (409)', async () => {
    const { caseId } = (await stack.api('/v1/onboardings', { body: { provider: 'kira', applicant: applicant() } })).body;
    await waitFor(async () => (await stack.api(`/v1/cases/${caseId}`)).body.status === 'awaiting_verification');
    expect((await stack.api(`/v1/cases/${caseId}/resolve`, { body: { action: 'reject' } })).status).toBe(409);
    expect((await stack.api(`/v1/cases/${caseId}/resolve`, { body: { action: 'approve' } })).status).toBe(400);
    expect((await stack.api(`/v1/cases/${caseId}/applicant`, { method: 'PATCH', body: {} })).status).toBe(400);
    const userId = (await stack.api(`/v1/cases/${caseId}`)).body.providerUserId as string;
    const body = JSON.stringify({ event: 'user.verification.accepted', data: { event_id: randomUUID(), user_id: userId } });
    await fetch(`${stack.url}/webhooks/kira`, { method: 'POST', headers: { 'x-signature-sha256': createHmac('sha256', 'whsec-new-0001').update(body).digest('hex') }, body });
    await waitFor(async () => (await stack.api(`/v1/cases/${caseId}`)).body.status === 'verified');
    const patch = await stack.api(`/v1/cases/${caseId}/applicant`, { method: 'PATCH', body: { sourceOfFunds: 'salary' } });
    expect(patch.status).toBe(409);
    expect(patch.body.detail).toMatch(/verified/);
  });
});
