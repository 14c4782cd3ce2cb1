/**
 * A create round after an escalated create: a create that committed at Kira and then went
 * unanswered until its attempts ran out must never lead a later round (PATCH, resolve retry) to a
 * second Kira user; a create Kira definitively refused (400) takes a fresh key.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.js';
import { JOB, PROVIDER_JOB_OPTS, providerQueue } from '../../src/queue/catalog.js';
import { startService, type Service } from '../../src/service.js';
import type { KiraSimulatorOptions } from '../../src/simulators/kira/index.js';
import { applicant, startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Short provider timeout; polls every second, so a verdict whose webhook found no linked case is picked up. */
const ENV = { PROVIDER_TIMEOUT: '300ms', RECONCILE_SCHEDULE: '1s', RECONCILE_TICK: '500ms' };

async function onboard(s: Stack, a: Record<string, unknown>): Promise<string> {
  const res = await s.api('/v1/onboardings', { body: { provider: 'kira', applicant: a } });
  expect(res.status).toBe(202);
  return res.body.caseId as string;
}

async function until(s: Stack, caseId: string, status: string, timeoutMs = 20_000): Promise<any> {
  return waitFor(async () => {
    const r = await s.api(`/v1/cases/${caseId}`);
    return r.body.status === status ? r.body : undefined;
  }, { timeoutMs, what: `case ${caseId} to be ${status}` });
}

const creates = (s: Stack) => s.sim.requests().filter((r) => r.method === 'POST' && r.path === '/v1/users');

/**
 * An api-only stack and a case whose first create commits at Kira, then goes unanswered on every
 * attempt until they run out (2 attempts instead of the default 20, which last about an hour of
 * backoff: the queued job is replaced by one with the same id and fewer attempts before any worker
 * runs). Returns once the case is escalated, with a worker process (a second service) running.
 */
async function unansweredCreate(sim: Partial<KiraSimulatorOptions>) {
  const stack = await startStack({ role: 'api', env: ENV, sim });
  cleanups.push(() => stack.close());
  const a = applicant();
  const caseId = await onboard(stack, a);
  const queue = stack.svc.producer.queues().find((q) => q.name === providerQueue('kira'))!;
  const jobId = `create-${caseId}-0`;
  const queued = await waitFor(() => queue.getJob(jobId), { what: 'the create job' });
  await queued.remove();
  await queue.add(JOB.createUser, { caseId, round: 0 }, { ...PROVIDER_JOB_OPTS, attempts: 2, jobId });

  stack.sim.setFaults({ commitThenTimeout: 1 });
  const log = createLogger({ level: 'silent' });
  const worker: Service = await startService({ config: stack.config, role: 'worker', log, providerUrls: { kira: stack.sim.url } });
  cleanups.push(() => worker.close());
  // Committed and unanswered; from now on no call is answered at all, so every retry times out.
  await waitFor(() => stack.sim.users().length === 1, { what: 'the first create to commit' });
  stack.sim.setFaults({ commitThenTimeout: 0, timeout: 1 });
  const escalated = await until(stack, caseId, 'escalated');
  stack.sim.setFaults({ timeout: 0 });
  expect(creates(stack).length).toBe(2);
  expect(escalated.reasons).toEqual([expect.objectContaining({ code: 'provider_error', providerText: expect.stringMatching(/unavailable after 2 attempts/) })]);
  expect(escalated.escalation.proposedAction).toMatch(/may already hold a user/);
  return { stack, a, caseId };
}

function expectOneUserOneKey(stack: Stack, externalId: unknown): void {
  expect(stack.sim.users().filter((u) => u.externalId === externalId)).toHaveLength(1);
  expect(stack.sim.users()).toHaveLength(1);
  const keys = new Set(creates(stack).map((r) => r.idempotencyKey));
  expect(keys.size).toBe(1);
}

describe('Kira create rounds after an unanswered create', () => {
  it.each([
    ['replay', 'provider_user_created'],
    ['conflict', 'provider_user_adopted'],
  ] as const)(
    'resolve retry reuses the key (Kira %s mode): still one Kira user, and the case is verified',
    async (mode, event) => {
      const { stack, a, caseId } = await unansweredCreate({ idempotencyReplay: mode });
      const resolved = await stack.api(`/v1/cases/${caseId}/resolve`, { body: { action: 'retry', note: 'Kira is back' } });
      expect(resolved.status).toBe(202);
      const done = await until(stack, caseId, 'verified');
      expectOneUserOneKey(stack, a.externalId);
      expect(creates(stack).length).toBe(3);
      expect(done.providerUserId).toBe(stack.sim.users()[0]!.userId);
      const events = done.timeline.map((e: { event: string }) => e.event);
      expect(events).toContain(event);
      expect(events).toContain('resolved_retry');
    },
  );

  it('a PATCH (a changed body under the same key → 409) adopts the committed user, even from list items without external_id', async () => {
    const { stack, a, caseId } = await unansweredCreate({ listItemsCarryExternalId: false });
    const patched = await stack.api(`/v1/cases/${caseId}/applicant`, { method: 'PATCH', body: { occupation: 'chef' } });
    expect(patched.status).toBe(202);
    const done = await until(stack, caseId, 'verified');
    expectOneUserOneKey(stack, a.externalId);
    expect(creates(stack).at(-1)?.status).toBe(409);
    expect(done.timeline.map((e: { event: string }) => e.event)).toContain('provider_user_adopted');
    const uid = stack.sim.users()[0]!.userId;
    expect(stack.sim.requests().some((r) => r.method === 'GET' && r.path === `/v1/users/${uid}`)).toBe(true);
  });
});

describe('Kira create rounds after a refused create', () => {
  it('a create Kira refused (400: nothing created) is retried with a fresh key after the PATCH', async () => {
    const stack = await startStack({ env: { ...ENV, PREFLIGHT: 'off' } });
    cleanups.push(() => stack.close());
    const a = applicant({ accountPurpose: 'lottery_winnings' });
    const caseId = await onboard(stack, a);
    const escalated = await until(stack, caseId, 'escalated');
    expect(escalated.providerErrors).toEqual([expect.objectContaining({ field: 'accountPurpose' })]);
    expect(stack.sim.users()).toHaveLength(0);
    await stack.api(`/v1/cases/${caseId}/applicant`, { method: 'PATCH', body: { accountPurpose: 'receive_payments' } });
    await until(stack, caseId, 'verified');
    expect(creates(stack).map((r) => r.status)).toEqual([400, 201]);
    expect(new Set(creates(stack).map((r) => r.idempotencyKey)).size).toBe(2);
    expect(stack.sim.users()).toHaveLength(1);
  });
});
