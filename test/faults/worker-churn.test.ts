/**
 * Two worker processes share the queues; one of them is killed (SIGKILL) and restarted again and
 * again while 2,000 onboardings run through the Kira simulator: no case is lost, none is
 * duplicated (one Kira user per case, one create and one decision per case), and every case ends
 * in the state its applicant data calls for.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startKiraSimulator } from '../../src/simulators/kira/index.js';
import { storeKeys } from '../../src/store/keys.js';
import { onboardVia, pool } from '../helpers/client.js';
import { processHarness, processEnv, spawnService } from '../helpers/processes.js';
import { dropPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { statusMembers } from '../helpers/seed.js';
import { applicant, SECRETS } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const { procs, cleanups } = processHarness();

const N = 2_000;
/** Applicant variant by index, and the final status it must reach. */
const KINDS = [
  ...Array<{ over: Record<string, unknown>; final: string }>(7).fill({ over: {}, final: 'verified' }),
  { over: { firstName: 'Sessionexpired' }, final: 'verified' },
  { over: { lastName: 'Sanctioned' }, final: 'escalated' },
  { over: { lastName: 'Fraud' }, final: 'rejected' },
];

describe('worker churn', () => {
  it('2,000 cases, one of two workers killed repeatedly: no case lost, none duplicated', async () => {
    const prefix = uniquePrefix();
    const sim = await startKiraSimulator({
      apiKey: 'k', clientId: 'c', password: 'p', webhookSecrets: [SECRETS[0]!], verifyDelayMs: 300, autoRejectDelayMs: 300,
      rateLimit: { perSecond: 400, burst: 800 },
    });
    cleanups.push(async () => { await sim.close(); await dropPrefix(prefix); });
    const env = processEnv({
      redisUrl: REDIS_URL, prefix, kiraUrl: sim.url,
      extra: { KIRA_RATE_LIMIT: '200', JOB_LOCK_DURATION: '2s', RECONCILE_SCHEDULE: '5s', RECONCILE_TICK: '1s', WORKER_CONCURRENCY: '16' },
    });
    const api = await spawnService('api', env);
    procs.push(api);
    sim.setWebhookUrl(`${api.url}/webhooks/kira`);
    procs.push(await spawnService('worker', env));
    let victim = await spawnService('worker', env);
    procs.push(victim);

    const people = Array.from({ length: N }, (_, i) => applicant(KINDS[i % KINDS.length]!.over));
    let finished = false;
    let kills = 0;
    const churn = (async () => {
      while (!finished) {
        await new Promise((r) => setTimeout(r, 1_000 + Math.random() * 2_000));
        if (finished) break;
        await victim.kill('SIGKILL');
        kills++;
        victim = await spawnService('worker', env);
        procs.push(victim);
      }
    })();

    const ids = await pool(people, 32, (a) => onboardVia(api.url, a));
    const want = new Map(ids.map((id, i) => [id, KINDS[i % KINDS.length]!.final]));
    const redis = new Redis(REDIS_URL);
    cleanups.push(() => { redis.disconnect(); return Promise.resolve(); });
    const byStatus = async () => {
      const out = new Map<string, string>();
      for (const s of ['verified', 'rejected', 'escalated'] as const) for (const id of await statusMembers(REDIS_URL, prefix, s)) out.set(id, s);
      return out;
    };
    const final = await waitFor(async () => {
      const m = await byStatus();
      return [...want].every(([id, s]) => m.get(id) === s) ? m : undefined;
    }, { timeoutMs: 240_000, intervalMs: 500, what: 'every case in its final state' }).finally(() => { finished = true; });
    await churn;

    const lost = [...want.keys()].filter((id) => !final.has(id));
    expect(lost).toEqual([]);
    expect(await redis.zcard(storeKeys(prefix).all())).toBe(N);
    // one Kira user per case
    const perExt = new Map<string, number>();
    for (const u of sim.users()) perExt.set(u.externalId, (perExt.get(u.externalId) ?? 0) + 1);
    const dupUsers = [...perExt.values()].filter((n) => n > 1).length;
    expect(dupUsers).toBe(0);
    expect(perExt.size).toBe(N);
    // one create, one decision per case, and one re-issue per session-expired case
    const keys = storeKeys(prefix);
    const bad: string[] = [];
    for (let from = 0; from < ids.length; from += 250) {
      const batch = ids.slice(from, from + 250);
      const p = redis.pipeline();
      for (const id of batch) p.lrange(keys.timeline(id), 0, -1);
      const lists = (await p.exec())!.map(([, v]) => (v as string[]).map((s) => JSON.parse(s) as { event: string; from: string | null; to: string }));
      lists.forEach((tl, j) => {
        const created = tl.filter((e) => /^provider_user_(created|adopted)$/.test(e.event)).length;
        const decided = tl.filter((e) => e.to !== e.from && ['verified', 'rejected'].includes(e.to)).length;
        if (created !== 1) bad.push(`${batch[j]}: ${created} creates`);
        if (want.get(batch[j]!) !== 'escalated' && decided !== 1) bad.push(`${batch[j]}: ${decided} decisions`);
      });
    }
    expect(bad.slice(0, 20)).toEqual([]);
    const reissued = sim.users().filter((u) => u.fields.first_name === 'Sessionexpired');
    expect(reissued.every((u) => u.verificationAttempts === 2)).toBe(true);
    expect(kills).toBeGreaterThanOrEqual(3);
    console.info(`worker churn: ${N} cases, ${kills} kills of one of two workers, ${final.size} decided, ${lost.length} lost, ${dupUsers} duplicated users, ${bad.length} cases with a repeated step`);
  });
});
