import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applicant, SECRETS, startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

let stack: Stack;
beforeAll(async () => {
  // The simulator neither decides nor delivers by itself here: the tests deliver every webhook.
  stack = await startStack({ sim: { autoVerify: false, faults: { drop: 1 } } });
});
afterAll(async () => stack.close());

function sign(body: string, secret = SECRETS[0]!): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

async function deliver(body: string, headers: Record<string, string> = { 'x-signature-sha256': sign(body) }) {
  const res = await fetch(`${stack.url}/webhooks/kira`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, body: (await res.text()) || undefined, type: res.headers.get('content-type') };
}

function event(name: string, userId: string, data: Record<string, unknown> = {}, eventId = randomUUID()): string {
  return JSON.stringify({ event: name, data: { event_id: eventId, user_id: userId, ...data } });
}

async function awaitingCase(): Promise<{ caseId: string; userId: string }> {
  const res = await stack.api('/v1/onboardings', { body: { provider: 'kira', applicant: applicant() } });
  return waitFor(async () => {
    const c = (await stack.api(`/v1/cases/${res.body.caseId}`)).body;
    return c.status === 'awaiting_verification' ? { caseId: c.caseId as string, userId: c.providerUserId as string } : undefined;
  }, { what: 'awaiting_verification' });
}

const getCase = async (id: string) => (await stack.api(`/v1/cases/${id}`)).body;

describe('POST /webhooks/kira', () => {
  it('applies the same webhook delivered five times exactly once', async () => {
    const { caseId, userId } = await awaitingCase();
    const body = event('user.verification.failed', userId, { verification_status: 'rejected', reasons: ['Sanctions screening match'] });
    const answers = await Promise.all(Array.from({ length: 5 }, () => deliver(body)));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    expect(answers.filter((a) => a.body?.includes('"duplicate":false'))).toHaveLength(1);
    const c = await waitFor(async () => { const x = await getCase(caseId); return x.status === 'escalated' ? x : undefined; });
    // Let every queued job run, then count: exactly one transition came from the webhook.
    await waitFor(async () => (await stack.svc.producer.queues()[0]!.getJobCounts('waiting', 'active', 'delayed')).waiting === 0);
    const after = await getCase(caseId);
    expect(after.timeline.filter((e: { source: string }) => e.source === 'webhook')).toHaveLength(1);
    expect(after.version).toBe(c.version);
  });

  it('refuses a forged signature with 401 and changes nothing', async () => {
    const { caseId, userId } = await awaitingCase();
    const before = await getCase(caseId);
    const body = event('user.verification.accepted', userId);
    const res = await deliver(body, { 'x-signature-sha256': sign(body, 'not-the-secret') });
    expect(res.status).toBe(401);
    expect(res.type).toMatch(/application\/problem\+json/);
    expect((await deliver(body, {})).status).toBe(401);
    expect((await getCase(caseId)).version).toBe(before.version);
  });

  it('accepts a webhook signed with the second configured secret (rotation) and its alias header', async () => {
    const { caseId, userId } = await awaitingCase();
    const body = event('user.verification.accepted', userId, { status: 'VERIFIED' });
    const res = await deliver(body, { 'x-kira-signature': sign(body, SECRETS[1]) });
    expect(res.status).toBe(202);
    await waitFor(async () => (await getCase(caseId)).status === 'verified', { what: 'verified' });
  });

  it('records a late failure after verified and stays verified', async () => {
    const { caseId, userId } = await awaitingCase();
    expect((await deliver(event('user.verification.accepted', userId))).status).toBe(202);
    await waitFor(async () => (await getCase(caseId)).status === 'verified');
    expect((await deliver(event('user.verification.failed', userId, { reasons: ['Suspected document fraud'] }))).status).toBe(202);
    const c = await waitFor(async () => { const x = await getCase(caseId); return x.timeline.length >= 4 && x.timeline.at(-1).event === 'webhook:user.verification.failed' ? x : undefined; }, { what: 'late event recorded' });
    expect(c.status).toBe('verified');
    expect(c.timeline.at(-1)).toMatchObject({ from: 'verified', to: 'verified', detail: expect.stringContaining('late event') });
  });

  it('gates on status: a status change to VERIFIED decides, REJECTED alone waits for the reasons', async () => {
    const { caseId, userId } = await awaitingCase();
    await deliver(event('user.status_changed', userId, { previous_status: 'VERIFYING', new_status: 'rejected' }));
    await waitFor(async () => (await getCase(caseId)).providerStatus === 'REJECTED', { what: 'provider status recorded' });
    expect((await getCase(caseId)).status).toBe('awaiting_verification');
    await deliver(event('user.status_changed', userId, { previous_status: 'REJECTED', new_status: 'REVIEW' }));
    await deliver(event('user.status_changed', userId, { previous_status: 'REVIEW', new_status: 'Verified' }));
    await waitFor(async () => (await getCase(caseId)).status === 'verified', { what: 'verified by status' });
  });

  it('answers 400 for malformed JSON and keeps a signed but unusable body for inspection', async () => {
    const bad = '{"event": "user.verification.failed", ';
    const malformed = await deliver(bad);
    expect(malformed.status).toBe(400);
    expect(malformed.type).toMatch(/problem\+json/);
    const unusable = JSON.stringify({ event: 'user.verification.failed', data: { event_id: 'evt-unusable-1' } });
    expect((await deliver(unusable)).status).toBe(202);
    const kept = await stack.svc.store.unusableWebhooks();
    expect(kept).toEqual(expect.arrayContaining([expect.objectContaining({ provider: 'kira', eventId: 'evt-unusable-1' })]));
  });

  it('acknowledges unknown event types without queuing them', async () => {
    const res = await deliver(JSON.stringify({ event: 'virtual_account.deposit_funds_received', data: { event_id: randomUUID() } }));
    expect(res.status).toBe(202);
    expect(res.body).toContain('virtual_account.deposit_funds_received');
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toMatch(/kyc_webhooks_received_total\{provider="kira",outcome="unknown_event"\} [1-9]/);
  });

  it('answers 404 for an unknown provider and 413 for a body over 256 KB', async () => {
    const unknown = await fetch(`${stack.url}/webhooks/nope`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
    const big = JSON.stringify({ event: 'user.created', data: { event_id: 'x', pad: 'a'.repeat(300 * 1024) } });
    const res = await deliver(big);
    expect(res.status).toBe(413);
    expect(res.type).toMatch(/problem\+json/);
  });
});
