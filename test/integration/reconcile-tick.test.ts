/**
 * One reconcile tick over due cases of two providers: each due case gets one poll job on its own
 * provider's queue (one add per provider, one read pipeline for all), a claimed id without a case
 * is skipped, and a case not due is left alone.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ApplicantSchema } from '../../src/kyc/applicant.js';
import { fixedClock } from '../../src/lib/clock.js';
import { createProducer } from '../../src/queue/producer.js';
import { createCaseStore } from '../../src/store/case-store.js';
import { reconcileTickProcessor } from '../../src/workers/reconcile-tick.processor.js';
import { connectRedis, dropPrefix, uniquePrefix } from '../helpers/redis.js';
import { applicant } from '../helpers/stack.js';

describe('reconcile tick', () => {
  const prefix = uniquePrefix();
  const redis = connectRedis();
  const store = createCaseStore({ redis, prefix, policy: { maxAttempts: 3 }, pollSchedule: [3_600_000] });
  const producer = createProducer({ connection: redis, prefix, providers: ['kira', 'wealthyhood'], dedupeTtlMs: 60_000 });
  afterAll(async () => {
    await producer.close();
    redis.disconnect();
    await dropPrefix(prefix);
  });

  it('queues one poll per due case on its provider\'s queue, skipping ids without a case and cases not due', async () => {
    const clock = fixedClock('2026-03-01T00:00:00.000Z');
    const linked = async (provider: 'kira' | 'wealthyhood', user: string) => {
      const { case: c } = await store.create(provider, ApplicantSchema.parse(applicant()), clock.now());
      await store.apply(c.id, { kind: 'user_created', providerUserId: user, adopted: false }, { now: clock.now() });
      return c.id;
    };
    const kira = [await linked('kira', 'k-1'), await linked('kira', 'k-2')];
    const wealthyhood = [await linked('wealthyhood', 'w-1')];
    const later = await linked('kira', 'k-3');
    const due = clock.now().getTime() - 1;
    for (const id of [...kira, ...wealthyhood, 'no-such-case']) await redis.zadd(store.keys.reconcile(), due, id);

    const tick = reconcileTickProcessor({ store, producer, clock });
    expect(await tick()).toBe('polls:3');
    const queued = async (name: string) => {
      const q = producer.queues().find((x) => x.name === name)!;
      return (await q.getJobs(['waiting', 'delayed', 'prioritized'])).filter((j) => j.name === 'poll').map((j) => (j.data as { caseId: string }).caseId).sort();
    };
    expect(await queued('provider-kira')).toEqual([...kira].sort());
    expect(await queued('provider-wealthyhood')).toEqual(wealthyhood);
    expect(await queued('provider-kira')).not.toContain(later);
    // Claimed (leased): the same tick again finds nothing due.
    expect(await tick()).toBe('polls:0');
  });
});
