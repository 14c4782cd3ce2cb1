/**
 * Redis killed (SIGKILL) and restarted from its AOF under webhook load: every webhook answered
 * 202 is processed after the restart, and everything sent while Redis is down gets 503 — never
 * a 202 that is then lost. Api and worker run as their own processes on a private redis-server.
 */
import { describe, expect, it } from 'vitest';
import { startKiraSimulator } from '../../src/simulators/kira/index.js';
import { callApi } from '../helpers/client.js';
import { processHarness, processEnv, spawnService } from '../helpers/processes.js';
import { startOwnRedis, uniquePrefix } from '../helpers/redis.js';
import { seedAwaitingCases, statusMembers } from '../helpers/seed.js';
import { SECRETS } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import { kiraDelivery, sendAll, type Answer, type Delivery } from '../helpers/webhooks.js';

const { procs, cleanups } = processHarness();

describe('Redis killed and restarted under webhook load', () => {
  it('processes every acknowledged webhook after the restart and answers 503 while Redis is down', async () => {
    const n = 600;
    const redis = await startOwnRedis({ appendonly: true });
    cleanups.push(() => redis.cleanup());
    const prefix = uniquePrefix();
    const sim = await startKiraSimulator({ apiKey: 'k', clientId: 'c', password: 'p', webhookSecrets: [SECRETS[0]!], autoVerify: false });
    cleanups.push(() => sim.close());
    const env = processEnv({ redisUrl: redis.url, prefix, kiraUrl: sim.url, extra: { RECONCILE_SCHEDULE: '1h', JOB_LOCK_DURATION: '2s' } });
    const seeded = await seedAwaitingCases({ redisUrl: redis.url, prefix, count: n });
    const api = await spawnService('api', env);
    procs.push(api);
    procs.push(await spawnService('worker', env));

    const deliveries: Delivery[] = seeded.map((c) => kiraDelivery(c.caseId, c.userId, 'user.verification.accepted'));
    const url = `${api.url}/webhooks/kira`;
    let killedAt = Infinity;
    let restartAt = Infinity;
    const answers: Answer[] = [];
    // Kill Redis a second into the load, bring it back 1.5 s later; the load goes on throughout.
    const chaos = (async () => {
      await waitFor(() => answers.length >= n / 5, { timeoutMs: 30_000, what: 'load under way' });
      await redis.stop('SIGKILL');
      killedAt = Date.now();
      await waitFor(() => answers.filter((a) => a.sentAt > killedAt).length >= 50, { timeoutMs: 30_000, what: 'requests during the outage' });
      restartAt = Date.now();
      await redis.start();
    })();
    const result = await sendAll({ urls: [url], deliveries, concurrency: 16, perSecond: 150, answers });
    await chaos;

    const during = result.filter((a) => a.sentAt > killedAt && a.answeredAt < restartAt);
    expect(during.length).toBeGreaterThan(0);
    expect(during.filter((a) => a.status !== 503)).toEqual([]);
    const acked = new Set(result.filter((a) => a.status === 202).map((a) => a.delivery.caseKey));

    // A provider would retry what was not acknowledged: do so once Redis is back.
    await waitFor(async () => (await fetch(`${api.url}/readyz`)).status === 200, { timeoutMs: 30_000, what: 'api ready again' });
    const retried = await sendAll({ urls: [url], deliveries: deliveries.filter((d) => !acked.has(d.caseKey)), concurrency: 16 });
    expect(retried.filter((a) => a.status !== 202)).toEqual([]);

    const verified = async () => new Set(await statusMembers(redis.url, prefix, 'verified'));
    const done = await waitFor(async () => {
      const v = await verified();
      return [...acked].every((id) => v.has(id)) && v.size === n ? v : undefined;
    }, { timeoutMs: 60_000, what: 'every acknowledged webhook processed' });
    const lost = [...acked].filter((id) => !done.has(id));
    expect(lost).toEqual([]);
    let duplicated = 0;
    for (const c of seeded.slice(0, 100)) {
      const body = (await callApi(api.url, `/v1/cases/${c.caseId}`)).body;
      if (body.timeline.filter((e: { to: string }) => e.to === 'verified').length !== 1) duplicated++;
    }
    expect(duplicated).toBe(0);
    console.info(`redis restart: ${n} events, ${result.length} deliveries in the first pass, ${acked.size} acknowledged, ${during.length} during the outage (all 503), ${retried.length} re-sent after, ${done.size} processed, ${lost.length} lost, ${duplicated} duplicated`);
  });
});
