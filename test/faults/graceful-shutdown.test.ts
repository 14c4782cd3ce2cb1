/**
 * SIGTERM under load: a worker stops fetching, lets its in-flight jobs finish within
 * SHUTDOWN_GRACE, hands back what is still running when the grace is over, and exits 0; a
 * rolling restart of two apis and two workers during a stream of onboardings loses nothing.
 */
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { providerQueue } from '../../src/queue/catalog.js';
import { startKiraSimulator, type KiraSimulator } from '../../src/simulators/kira/index.js';
import { caseVia, onboardVia } from '../helpers/client.js';
import { processHarness, processEnv, spawnService, type ServiceProcess } from '../helpers/processes.js';
import { dropPrefix, REDIS_URL, startOwnRedis, uniquePrefix } from '../helpers/redis.js';
import { statusMembers } from '../helpers/seed.js';
import { applicant, SECRETS } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const { procs, cleanups } = processHarness();

async function rig(extra: Record<string, string>, redisUrl = REDIS_URL): Promise<{ sim: KiraSimulator; env: Record<string, string>; prefix: string; kiraQueue: Queue }> {
  const prefix = uniquePrefix();
  const sim = await startKiraSimulator({ apiKey: 'k', clientId: 'c', password: 'p', webhookSecrets: [SECRETS[0]!], verifyDelayMs: 200 });
  const kiraQueue = new Queue(providerQueue('kira'), { connection: { url: redisUrl }, prefix });
  kiraQueue.on('error', () => undefined); // Redis is stopped on purpose in one test
  cleanups.push(async () => { await kiraQueue.close(); await sim.close(); await dropPrefix(prefix, redisUrl); });
  return { sim, prefix, kiraQueue, env: processEnv({ redisUrl, prefix, kiraUrl: sim.url, extra: { RECONCILE_SCHEDULE: '1h', ...extra } }) };
}

/** One api (the simulator's webhook target) and one worker, as processes. */
async function apiAndWorker(r: { sim: KiraSimulator; env: Record<string, string> }): Promise<{ api: ServiceProcess; worker: ServiceProcess }> {
  const api = await spawnService('api', r.env);
  procs.push(api);
  r.sim.setWebhookUrl(`${api.url}/webhooks/kira`);
  const worker = await spawnService('worker', r.env);
  procs.push(worker);
  return { api, worker };
}

const inFlight = (sim: KiraSimulator) => sim.requests().filter((r) => r.method === 'POST' && r.path === '/v1/users' && r.status === 'pending').length;

describe('graceful shutdown', () => {
  it('SIGTERM lets the in-flight jobs finish, takes no new ones, and exits 0', async () => {
    const r = await rig({ SHUTDOWN_GRACE: '20s', WORKER_CONCURRENCY: '4' });
    r.sim.setFaults({ latency: 2_000 });
    const { api, worker } = await apiAndWorker(r);
    const ids = await Promise.all(Array.from({ length: 12 }, () => onboardVia(api.url, applicant())));
    await waitFor(() => inFlight(r.sim) === 4, { what: 'four creates in flight' });
    const before = r.sim.requests().filter((q) => q.path === '/v1/users').length;
    worker.proc.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    // The four calls in flight were answered and applied; nothing new was started.
    expect(r.sim.requests().filter((q) => q.path === '/v1/users')).toHaveLength(before);
    expect(r.sim.requests().filter((q) => q.path === '/v1/users').every((q) => q.status === 201)).toBe(true);
    const counts = await r.kiraQueue.getJobCounts('active', 'failed', 'completed', 'waiting');
    expect(counts).toMatchObject({ active: 0, failed: 0, completed: 4, waiting: 8 });
    r.sim.setFaults({ latency: 0 });
    procs.push(await spawnService('worker', r.env));
    for (const id of ids) await waitFor(async () => (await caseVia(api.url, id)).status === 'verified', { timeoutMs: 30_000, what: `case ${id} verified` });
  });

  it('hands running jobs back to the queue when the grace period is over, without burning an attempt', async () => {
    const r = await rig({ SHUTDOWN_GRACE: '1s', WORKER_CONCURRENCY: '4' });
    r.sim.setFaults({ latency: 8_000 });
    const { api, worker } = await apiAndWorker(r);
    const people = Array.from({ length: 4 }, () => applicant());
    const ids = await Promise.all(people.map((a) => onboardVia(api.url, a)));
    await waitFor(() => inFlight(r.sim) === 4, { what: 'four creates in flight' });
    worker.proc.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    const jobs = await r.kiraQueue.getJobs(['waiting', 'active', 'failed', 'delayed']);
    expect(jobs.map((j) => [j.name, j.attemptsMade])).toEqual(Array(4).fill(['create-user', 0]));
    expect(await r.kiraQueue.getJobCounts('waiting', 'active')).toEqual({ waiting: 4, active: 0 });
    r.sim.setFaults({ latency: 0 });
    procs.push(await spawnService('worker', r.env));
    for (const id of ids) await waitFor(async () => (await caseVia(api.url, id)).status === 'verified', { timeoutMs: 30_000, what: `case ${id} verified` });
    for (const a of people) expect(r.sim.users().filter((u) => u.externalId === a.externalId)).toHaveLength(1);
  });

  it('SIGTERM while Redis is down still exits 0, and the jobs it was running are taken back once Redis returns', async () => {
    const redis = await startOwnRedis();
    cleanups.push(() => redis.cleanup());
    const r = await rig({ SHUTDOWN_GRACE: '1s', WORKER_CONCURRENCY: '4', JOB_LOCK_DURATION: '2s' }, redis.url);
    r.sim.setFaults({ latency: 8_000 });
    const { api, worker } = await apiAndWorker(r);
    const people = Array.from({ length: 4 }, () => applicant());
    const ids = await Promise.all(people.map((a) => onboardVia(api.url, a)));
    await waitFor(() => inFlight(r.sim) === 4, { what: 'four creates in flight' });
    await redis.stop();
    worker.proc.kill('SIGTERM');
    // 0, not the last-resort exit 1 of main.ts: close() ends on its own although the worker
    // cannot hand its jobs back (their commands wait for a Redis that is not there).
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toContain('their jobs go to stalled-job recovery');
    await redis.start();
    r.sim.setFaults({ latency: 0 });
    procs.push(await spawnService('worker', r.env));
    for (const id of ids) await waitFor(async () => (await caseVia(api.url, id)).status === 'verified', { timeoutMs: 60_000, what: `case ${id} verified` });
    // The creates cut off by the shutdown were retried with the same idempotency key: one user each.
    for (const a of people) expect(r.sim.users().filter((u) => u.externalId === a.externalId)).toHaveLength(1);
  });

  it('a rolling restart of two apis and two workers under load loses nothing', async () => {
    const r = await rig({ SHUTDOWN_GRACE: '10s' });
    const apis = [await spawnService('api', r.env), await spawnService('api', r.env)];
    const workers = [await spawnService('worker', r.env), await spawnService('worker', r.env)];
    procs.push(...apis, ...workers);
    r.sim.setWebhookUrl(`${apis[0]!.url}/webhooks/kira`);

    // A partner sending onboardings round-robin, failing over to the other api (as a load balancer would).
    const accepted: string[] = [];
    let sending = true;
    let refused = 0;
    const partner = (async () => {
      for (let i = 0; sending; i++) {
        const a = applicant();
        for (let tries = 0; ; tries++) {
          try {
            accepted.push(await onboardVia(apis[(i + tries) % 2]!.url, a));
            break;
          } catch (err) {
            refused++;
            if (tries > 20) throw err;
          }
        }
        await new Promise((res) => setTimeout(res, 30));
      }
    })();
    const exits: (number | string)[] = [];
    const restart = async (list: ServiceProcess[], i: number, role: 'api' | 'worker') => {
      if (role === 'api') r.sim.setWebhookUrl(`${list[1 - i]!.url}/webhooks/kira`); // drain: webhooks to the other api
      list[i]!.proc.kill('SIGTERM');
      exits.push(await list[i]!.exited);
      list[i] = await spawnService(role, r.env);
      procs.push(list[i]);
    };
    await waitFor(() => accepted.length >= 20, { timeoutMs: 30_000, what: 'load under way' });
    await restart(apis, 0, 'api');
    await restart(apis, 1, 'api');
    await restart(workers, 0, 'worker');
    await restart(workers, 1, 'worker');
    sending = false;
    await partner;

    expect(exits).toEqual([0, 0, 0, 0]);
    const verified = await waitFor(async () => {
      const v = new Set(await statusMembers(REDIS_URL, r.prefix, 'verified'));
      return accepted.every((id) => v.has(id)) ? v : undefined;
    }, { timeoutMs: 60_000, what: 'every accepted onboarding verified' });
    expect(verified.size).toBe(new Set(accepted).size);
    const perExt = new Map<string, number>();
    for (const u of r.sim.users()) perExt.set(u.externalId, (perExt.get(u.externalId) ?? 0) + 1);
    expect([...perExt.values()].every((n) => n === 1)).toBe(true);
    expect(r.sim.deliveries().filter((d) => d.status !== 202)).toEqual([]);
    console.info(`rolling restart: ${accepted.length} onboardings accepted, ${refused} refused and sent to the other api, ${verified.size} verified, 0 lost; exits ${exits.join(',')}`);
  });
});
