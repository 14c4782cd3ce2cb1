import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startKiraSimulator } from '../../src/simulators/kira/index.js';
import { startOwnRedis, type OwnRedis, uniquePrefix, dropPrefix, REDIS_URL } from '../helpers/redis.js';
import { applicant, SECRETS, startStack, TOKEN, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function onboard(s: Stack, a: Record<string, unknown>): Promise<string> {
  const res = await s.api('/v1/onboardings', { body: { provider: 'kira', applicant: a } });
  expect(res.status).toBe(202);
  return res.body.caseId as string;
}
const status = async (s: Stack, id: string) => (await s.api(`/v1/cases/${id}`)).body.status as string;

describe('Kira faults', () => {
  it('a create that commits at Kira and then times out yields exactly one Kira user, and the case completes', async () => {
    for (const mode of ['replay', 'conflict'] as const) {
      const stack = await startStack({ env: { PROVIDER_TIMEOUT: '500ms' }, sim: { idempotencyReplay: mode, faults: { commitThenTimeout: 1 } } });
      cleanups.push(() => stack.close());
      const a = applicant();
      const caseId = await onboard(stack, a);
      await waitFor(() => stack.sim.users().length === 1, { what: 'the first create to commit' });
      stack.sim.setFaults({ commitThenTimeout: 0 });
      await waitFor(async () => (await status(stack, caseId)) === 'verified', { timeoutMs: 20_000, what: `verified (${mode})` });
      const creates = stack.sim.requests().filter((r) => r.method === 'POST' && r.path === '/v1/users');
      expect(creates.length).toBeGreaterThanOrEqual(2);
      expect(new Set(creates.map((r) => r.idempotencyKey)).size).toBe(1);
      expect(stack.sim.users().filter((u) => u.externalId === a.externalId)).toHaveLength(1);
      const c = (await stack.api(`/v1/cases/${caseId}`)).body;
      expect(c.timeline.map((e: { event: string }) => e.event)).toContain(mode === 'conflict' ? 'provider_user_adopted' : 'provider_user_created');
    }
  });

  it('a worker process killed mid-call is replaced and every case completes with one Kira user each', async () => {
    const prefix = uniquePrefix();
    const sim = await startKiraSimulator({ apiKey: 'k', clientId: 'c', password: 'p', webhookSecrets: [SECRETS[0]!], verifyDelayMs: 100, faults: { commitThenTimeout: 1 } });
    cleanups.push(() => sim.close());
    const env = {
      ...process.env, REDIS_URL, QUEUE_PREFIX: prefix, PROVIDERS_MODE: 'live', KIRA_BASE_URL: sim.url, KIRA_API_KEY: 'k',
      KIRA_CLIENT_ID: 'c', KIRA_PASSWORD: 'p', KIRA_WEBHOOK_SECRETS: SECRETS.join(','), API_TOKENS: TOKEN,
      PROVIDER_TIMEOUT: '20s', JOB_LOCK_DURATION: '1s', LOG_LEVEL: 'warn',
    };
    const worker = (): ChildProcess => spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker'], { env, stdio: 'ignore' });
    const stack = await startStack({ role: 'api', env: { QUEUE_PREFIX: prefix, KIRA_API_KEY: 'k', KIRA_CLIENT_ID: 'c', KIRA_PASSWORD: 'p' }, sim: {} });
    cleanups.push(async () => { await stack.close(); await dropPrefix(prefix); });
    sim.setWebhookUrl(`${stack.url}/webhooks/kira`);
    let child = worker();
    cleanups.push(() => { child.kill('SIGKILL'); return Promise.resolve(); });

    const applicants = Array.from({ length: 3 }, () => applicant());
    const ids = await Promise.all(applicants.map((a) => onboard(stack, a)));
    // Every create commits at Kira and hangs: kill the worker while the calls are in flight.
    await waitFor(() => sim.users().length === 3, { timeoutMs: 30_000, what: 'three commits in flight' });
    child.kill('SIGKILL');
    sim.setFaults({ commitThenTimeout: 0 });
    child = worker();
    for (const id of ids) await waitFor(async () => (await status(stack, id)) === 'verified', { timeoutMs: 40_000, what: `case ${id} verified` });
    for (const a of applicants) expect(sim.users().filter((u) => u.externalId === a.externalId)).toHaveLength(1);
  });

  it('waits out 429s by rate-limiting the queue without burning attempts', async () => {
    const stack = await startStack({ sim: { faults: { ratelimit: 1 } } });
    cleanups.push(() => stack.close());
    const caseId = await onboard(stack, applicant());
    const limited = () => stack.sim.requests().filter((r) => r.status === 429).length;
    await waitFor(() => limited() >= 3, { timeoutMs: 20_000, what: 'three 429 answers' });
    stack.sim.setFaults({ ratelimit: 0 });
    await waitFor(async () => (await status(stack, caseId)) === 'verified', { timeoutMs: 20_000, what: 'verified after the storm' });
    const queue = stack.svc.producer.queues().find((q) => q.name === 'provider-kira')!;
    const job = await queue.getJob(`create-${caseId}-0`);
    expect(job?.returnvalue).toBe('created');
    expect(job?.attemptsMade).toBeLessThanOrEqual(1);
  });

  it('carries Kira field errors of a permanent 400 into an escalated case', async () => {
    const stack = await startStack({ env: { PREFLIGHT: 'off' } });
    cleanups.push(() => stack.close());
    const caseId = await onboard(stack, applicant({ accountPurpose: 'buy_a_yacht' }));
    await waitFor(async () => (await status(stack, caseId)) === 'escalated', { what: 'escalated' });
    const c = (await stack.api(`/v1/cases/${caseId}`)).body;
    expect(c.reasons).toEqual([expect.objectContaining({ code: 'provider_error' })]);
    expect(c.providerErrors).toEqual([expect.objectContaining({ field: 'accountPurpose' })]);
    expect(JSON.stringify(c.providerErrors)).not.toContain('buy_a_yacht');
    expect(stack.sim.users()).toHaveLength(0);
  });

  it('answers 503 within 1 s while Redis is down, and processes the next delivery once it is back', async () => {
    const redis: OwnRedis = await startOwnRedis();
    cleanups.push(() => redis.cleanup());
    const stack = await startStack({ redisUrl: redis.url, sim: { autoVerify: false, faults: { drop: 1 } } });
    cleanups.push(() => stack.close().catch(() => undefined));
    const caseId = await onboard(stack, applicant());
    const userId = await waitFor(async () => (await stack.api(`/v1/cases/${caseId}`)).body.providerUserId as string | undefined);
    const body = JSON.stringify({ event: 'user.verification.accepted', data: { event_id: randomUUID(), user_id: userId } });
    const post = () => fetch(`${stack.url}/webhooks/kira`, { method: 'POST', headers: { 'x-signature-sha256': createHmac('sha256', SECRETS[0]!).update(body).digest('hex') }, body });

    await redis.stop();
    const started = performance.now();
    const down = await post();
    const elapsed = performance.now() - started;
    expect(down.status).toBe(503);
    expect(elapsed).toBeLessThan(1_000);
    expect((await fetch(`${stack.url}/readyz`)).status).toBe(503);

    await redis.start();
    await waitFor(async () => (await fetch(`${stack.url}/readyz`)).status === 200, { what: 'ready again' });
    expect((await post()).status).toBe(202);
    await waitFor(async () => (await status(stack, caseId)) === 'verified', { timeoutMs: 20_000, what: 'verified after the outage' });
  });
});
