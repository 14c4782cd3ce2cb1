import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.js';
import { startService, type Role, type Service } from '../../src/service.js';
import { startKiraSimulator, type KiraSimulator } from '../../src/simulators/kira/index.js';
import { dropPrefix, startOwnRedis } from '../helpers/redis.js';
import { applicant, SECRETS, startStack, testConfig, TOKEN } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};

/** The service with a short READINESS_STALL (in ms). */
async function startWithStall(opts: { stallMs: number; role?: Role; prefix?: string; sim?: KiraSimulator }): Promise<{ svc: Service; sim: KiraSimulator; logs: string[]; base: string }> {
  const config = testConfig({ READINESS_STALL: `${opts.stallMs}ms`, ...(opts.prefix ? { QUEUE_PREFIX: opts.prefix } : {}) });
  const logs: string[] = [];
  const log = createLogger({ level: 'debug', destination: new Writable({ write(c: Buffer, _e, cb) { logs.push(c.toString()); cb(); } }) });
  const sim = opts.sim ?? await startKiraSimulator({
    apiKey: config.KIRA_API_KEY, clientId: config.KIRA_CLIENT_ID, password: config.KIRA_PASSWORD, webhookSecrets: [SECRETS[0]!], verifyDelayMs: 100,
  });
  const svc = await startService({ config, role: opts.role ?? 'all', log, providerUrls: { kira: sim.url } });
  if (svc.url) sim.setWebhookUrl(`${svc.url}/webhooks/kira`);
  cleanups.push(async () => {
    await svc.close();
    if (!opts.sim) await sim.close();
    await dropPrefix(config.QUEUE_PREFIX);
  });
  return { svc, sim, logs, base: (svc.url ?? svc.opsUrl)! };
}

async function onboard(base: string): Promise<string> {
  const res = await fetch(`${base}/v1/onboardings`, {
    method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ provider: 'kira', applicant: applicant() }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { caseId: string }).caseId;
}

describe('GET /healthz and /readyz', () => {
  it('/readyz turns 503 when Redis stops and back to 200 when it returns; /healthz stays 200 throughout', async () => {
    const redis = await startOwnRedis();
    cleanups.push(() => redis.cleanup());
    const stack = await startStack({ redisUrl: redis.url, env: { SHUTDOWN_GRACE: '2s' } });
    cleanups.push(() => stack.close().catch(() => undefined));

    const ready = await get(`${stack.url}/readyz`);
    expect(ready).toMatchObject({ status: 200, body: { status: 'ready', redis: true, workers: 'consuming' } });
    expect(ready.body.queues.map((q: { queue: string }) => q.queue)).toEqual(expect.arrayContaining(['provider-kira', 'kyc-events', 'reconcile']));
    expect(await get(`${stack.url}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });

    await redis.stop();
    const started = performance.now();
    const down = await get(`${stack.url}/readyz`);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(down).toMatchObject({ status: 503, body: { status: 'unavailable', redis: false } });
    expect((await get(`${stack.url}/healthz`)).status).toBe(200);

    await redis.start();
    await waitFor(async () => (await get(`${stack.url}/readyz`)).status === 200, { timeoutMs: 15_000, what: 'ready again after Redis returned' });
    // …and the workers really consume again: a new onboarding completes.
    const caseId = await onboard(stack.url);
    await waitFor(async () => (await stack.api(`/v1/cases/${caseId}`)).body.status === 'verified', { timeoutMs: 20_000, what: 'verified after the outage' });
    expect((await get(`${stack.url}/readyz`)).status).toBe(200);
  });

  it('/readyz turns 503 when the workers stop consuming while jobs wait, and 200 once they consume again', async () => {
    const stallMs = 1_500;
    const { svc, logs, base } = await startWithStall({ stallMs });
    expect((await get(`${base}/readyz`)).status).toBe(200);

    // Workers connected but not fetching (as after a failover): pause them, then give them work.
    await Promise.all(svc.workers.map((w) => w.pause(true)));
    const pausedAt = performance.now();
    const caseId = await onboard(base);
    const early = await get(`${base}/readyz`);
    if (performance.now() - pausedAt < stallMs) expect(early.status).toBe(200); // not before the stall time

    const stalled = await waitFor(async () => {
      const r = await get(`${base}/readyz`);
      return r.status === 503 ? r : undefined;
    }, { timeoutMs: stallMs + 5_000, what: '503 for stalled workers' });
    // The stall clock starts at the last check that saw the queue empty (checks run every
    // stallMs / 5), which may come just before the pause: never earlier than that.
    expect(performance.now() - pausedAt).toBeGreaterThanOrEqual(stallMs - stallMs / 5);
    expect(stalled.body, JSON.stringify(stalled.body)).toMatchObject({ status: 'unavailable', redis: true, workers: 'stalled' });
    // A fetch already blocking when the pause came may still take the create job: then the
    // webhook event it leads to is what waits. Either way one queue has waited past the stall time.
    const stuck = (stalled.body.queues as { queue: string; consuming: boolean; waiting: number; idleMs: number }[]).find((q) => !q.consuming);
    expect(stuck).toBeDefined();
    expect(stuck!.waiting).toBeGreaterThan(0);
    expect(stuck!.idleMs).toBeGreaterThan(stallMs);
    expect(logs.some((l) => l.includes('worker not consuming') && l.includes(stuck!.queue))).toBe(true);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain(`kyc_worker_consuming{queue="${stuck!.queue}"} 0`);

    for (const w of svc.workers) void w.resume();
    await waitFor(async () => (await get(`${base}/readyz`)).status === 200, { timeoutMs: 10_000, what: 'ready once consuming again' });
    await waitFor(async () => {
      const r = await fetch(`${base}/v1/cases/${caseId}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return ((await r.json()) as { status: string }).status === 'verified';
    }, { timeoutMs: 20_000, what: 'the waiting case verified' });

    // Closed workers (crashed main loop, or shut down) consume nothing: not ready at once.
    await Promise.all(svc.workers.map((w) => w.close()));
    expect((await get(`${base}/readyz`)).body).toMatchObject({ workers: 'stalled' });
  });

  it('an api-only process is ready when Redis is, whatever waits in the queues', async () => {
    const stack = await startStack({ role: 'api' });
    cleanups.push(() => stack.close());
    await onboard(stack.url); // nobody consumes it here
    const r = await get(`${stack.url}/readyz`);
    expect(r).toEqual({ status: 200, body: { status: 'ready', redis: true } });
  });

  it('a worker-only process serves /healthz, /readyz and /metrics (its job and provider metrics), and no API', async () => {
    const api = await startStack({ role: 'api' });
    cleanups.push(() => api.close());
    const { svc, base } = await startWithStall({ stallMs: 60_000, role: 'worker', prefix: api.config.QUEUE_PREFIX, sim: api.sim });
    expect(svc.url).toBeUndefined();
    expect(svc.opsUrl).toBeDefined();
    expect(await get(`${base}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await get(`${base}/readyz`)).body).toMatchObject({ status: 'ready', redis: true, workers: 'consuming' });
    const caseId = await onboard(api.url);
    await waitFor(async () => (await api.api(`/v1/cases/${caseId}`)).body.status === 'verified', { timeoutMs: 20_000, what: 'verified by the worker process' });
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^kyc_provider_requests_total\{provider="kira",operation="create_user",code_class="2xx"\} [1-9]/m);
    expect(text).toMatch(/^kyc_job_duration_seconds_count\{queue="provider-kira",outcome="completed"\} [1-9]/m);
    expect((await fetch(`${base}/v1/cases/${caseId}`)).status).toBe(404);
  });
});
