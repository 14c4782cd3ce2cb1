/**
 * 10,000 webhooks, 20% of them duplicates, delivered in shuffled order and concurrently to two api
 * processes, applied by two worker processes: exactly one timeline entry per distinct event (a
 * duplicate changes nothing) and the correct final state for every case, whatever the order.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { EVENTS_QUEUE } from '../../src/queue/catalog.js';
import { KIRA_SIM_REASONS } from '../../src/simulators/kira/index.js';
import { storeKeys } from '../../src/store/keys.js';
import { processHarness, processEnv, spawnService } from '../helpers/processes.js';
import { dropPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { seedAwaitingCases } from '../helpers/seed.js';
import { waitFor } from '../helpers/wait.js';
import { kiraDelivery, sendAll, shuffle, type Delivery } from '../helpers/webhooks.js';

const { procs, cleanups } = processHarness();

const CASES = 2_000;
const TOTAL = 10_000;
/** The verdict each case gets, by its index, and the status that verdict must end in. */
const VERDICTS = [
  { event: 'user.verification.accepted', data: {}, final: 'verified' },
  { event: 'user.verification.accepted', data: {}, final: 'verified' },
  { event: 'user.verification.failed', data: { verification_status: 'rejected', reasons: [KIRA_SIM_REASONS.fraud] }, final: 'rejected' },
  { event: 'user.verification.failed', data: { verification_status: 'rejected', reasons: [KIRA_SIM_REASONS.sanctions] }, final: 'escalated' },
] as const;

describe('webhook flood', () => {
  it('10,000 webhooks with 20% duplicates, shuffled and concurrent: one entry per distinct event, correct final states', async () => {
    const prefix = uniquePrefix();
    cleanups.push(() => dropPrefix(prefix));
    const env = processEnv({ redisUrl: REDIS_URL, prefix, kiraUrl: 'http://127.0.0.1:9', extra: { RECONCILE_SCHEDULE: '1h', WORKER_CONCURRENCY: '32' } });
    const seeded = await seedAwaitingCases({ redisUrl: REDIS_URL, prefix, count: CASES });
    const apis = [await spawnService('api', env), await spawnService('api', env)];
    procs.push(...apis, await spawnService('worker', env), await spawnService('worker', env));

    // Four distinct events per case: three non-terminal status changes, then its verdict.
    const distinct: Delivery[] = seeded.flatMap((c, i) => [
      ...['VERIFYING', 'REVIEW', 'ACTIVE'].map((s) => kiraDelivery(c.caseId, c.userId, 'user.status_changed', { new_status: s })),
      kiraDelivery(c.caseId, c.userId, VERDICTS[i % 4]!.event, VERDICTS[i % 4]!.data),
    ]);
    const copies = shuffle([...distinct], 7).slice(0, TOTAL - distinct.length);
    const all = shuffle([...distinct, ...copies], 42);
    expect(all).toHaveLength(TOTAL);

    const urls = apis.map((a) => `${a.url}/webhooks/kira`);
    const answers = await sendAll({ urls, deliveries: all, concurrency: 64 });
    // Anything not acknowledged (a 503 when Redis is slow to answer on a loaded machine) is what a
    // provider retries: re-send it, as the provider would, until it is acknowledged.
    let unacked = answers.filter((a) => a.status !== 202);
    expect(unacked.filter((a) => a.status !== 503)).toEqual([]);
    const resent = unacked.length;
    for (let round = 0; unacked.length > 0 && round < 5; round++) {
      const again = await sendAll({ urls, deliveries: unacked.map((a) => a.delivery), concurrency: 16 });
      answers.push(...again);
      unacked = again.filter((a) => a.status !== 202);
    }
    expect(unacked).toEqual([]);
    const acked = answers.filter((a) => a.status === 202);
    const dupAnswers = acked.filter((a) => JSON.parse(a.text!).duplicate === true).length;
    // every copy is answered as a duplicate (a re-sent 503 may count as one too, if Redis had stored it)
    expect(dupAnswers).toBeGreaterThanOrEqual(copies.length);
    expect(acked.length - dupAnswers).toBeLessThanOrEqual(distinct.length);

    const events = new Queue(EVENTS_QUEUE, { connection: { url: REDIS_URL }, prefix });
    cleanups.push(() => events.close());
    await waitFor(async () => {
      const n = await events.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(n).every((v) => v === 0);
    }, { timeoutMs: 120_000, intervalMs: 200, what: 'the events queue drained' });

    const redis = new Redis(REDIS_URL);
    cleanups.push(() => { redis.disconnect(); return Promise.resolve(); });
    const keys = storeKeys(prefix);
    const expectedIds = new Map<string, string[]>();
    for (const d of distinct) expectedIds.set(d.caseKey, [...(expectedIds.get(d.caseKey) ?? []), `evt:${d.eventId}`]);
    const wrong: string[] = [];
    const finals: Record<string, number> = {};
    for (let from = 0; from < seeded.length; from += 200) {
      const batch = seeded.slice(from, from + 200);
      const p = redis.pipeline();
      for (const c of batch) p.hget(keys.case(c.caseId), 'doc').lrange(keys.timeline(c.caseId), 0, -1).smembers(keys.applied(c.caseId));
      const res = (await p.exec())!.map(([, v]) => v);
      batch.forEach((c, j) => {
        const i = from + j;
        const doc = JSON.parse(res[3 * j] as string) as { status: string };
        const timeline = (res[3 * j + 1] as string[]).map((s) => JSON.parse(s) as { event: string });
        const applied = (res[3 * j + 2] as string[]).filter((k) => k.startsWith('evt:')).sort();
        finals[doc.status] = (finals[doc.status] ?? 0) + 1;
        if (doc.status !== VERDICTS[i % 4]!.final) wrong.push(`${c.caseId}: ${doc.status}, want ${VERDICTS[i % 4]!.final}`);
        // onboarding_received + provider_user_created + exactly one entry per distinct event
        const webhookEntries = timeline.filter((e) => e.event.startsWith('webhook:'));
        if (timeline.length !== 6 || webhookEntries.length !== 4) wrong.push(`${c.caseId}: ${timeline.length} entries (${webhookEntries.length} from webhooks)`);
        if (JSON.stringify(applied) !== JSON.stringify(expectedIds.get(c.caseId)!.sort())) wrong.push(`${c.caseId}: applied ${applied.length} event ids`);
      });
    }
    expect(wrong.slice(0, 20)).toEqual([]);
    console.info(`webhook flood: ${TOTAL} deliveries (${distinct.length} distinct, ${copies.length} duplicates), ${resent} answered 503 and re-sent; ${acked.length} × 202, ${dupAnswers} answered duplicate; final states ${JSON.stringify(finals)}; ${wrong.length} cases wrong`);
  });
});
