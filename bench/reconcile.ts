/**
 * Measurement 4, reconcile cost: one reconcile tick over a reconcile set of `waiting` cases of
 * which `due` are due. The set is seeded directly with the store's keys (src/store/keys.ts); only
 * the due cases get a case record, as only they are read. The tick is the processor the workers
 * run (src/workers/reconcile-tick.processor.ts), run here in-process against the bench's Redis.
 */
import { systemClock } from '../src/lib/clock.js';
import { createProducer } from '../src/queue/producer.js';
import { createRedis } from '../src/queue/redis.js';
import { createCaseStore } from '../src/store/case-store.js';
import { storeKeys } from '../src/store/keys.js';
import { APPLY_TRANSITION, CLAIM_DUE, CREATE_CASE, READ_CASE } from '../src/store/scripts.js';
import { reconcileTickProcessor } from '../src/workers/reconcile-tick.processor.js';
import { commandStats, round, scriptNames, startMonitor, statsDelta, top, total, type BenchRedis } from './lib/redis.js';
import { PREFIX } from './lib/stack.js';

export interface ReconcileResult {
  waiting: number;
  due: number;
  ticks: number;
  msPerTick: { mean: number; max: number };
  redisCommandsPerTick: number;
  topCommandsPerTick: [string, number][];
  clientCallsPerTick: number;
  luaCommandsPerTick: number;
  pollsQueuedPerTick: number;
}

const keys = storeKeys(PREFIX);

function dueCase(id: string, at: string): string {
  return JSON.stringify({
    id, provider: 'kira', externalId: `ext-${id}`, status: 'awaiting_verification', applicant: { externalId: `ext-${id}` },
    providerUserId: `usr-${id}`, reasons: [], attempts: 0, createRound: 0, createdAt: at, updatedAt: at,
  });
}

async function seed(b: BenchRedis, waiting: number, due: number, now: number): Promise<string[]> {
  const r = b.admin;
  for (let i = 0; i < waiting - due; i += 1_000) {
    const args: (string | number)[] = [];
    for (let k = i; k < Math.min(waiting - due, i + 1_000); k++) args.push(now + 3_600_000 + k, `wait-${k}`);
    await r.zadd(keys.reconcile(), ...args);
  }
  const ids = Array.from({ length: due }, (_, k) => `due-${k}`);
  const p = r.pipeline();
  const at = new Date(now - 600_000).toISOString();
  for (const id of ids) p.hset(keys.case(id), 'v', 1, 'doc', dueCase(id, at), 'h', '0'.repeat(64));
  await p.exec();
  return ids;
}

export async function benchReconcile(o: { redis: BenchRedis; waiting: number; due: number; ticks: number; log(msg: string): void }): Promise<ReconcileResult> {
  await o.redis.admin.flushall();
  const redis = createRedis(o.redis.url, 'producer');
  const store = createCaseStore({ redis, prefix: PREFIX, policy: { maxAttempts: 3 }, pollSchedule: [60_000] });
  const producer = createProducer({ connection: redis, prefix: PREFIX, providers: ['kira'], dedupeTtlMs: 7 * 86_400_000 });
  const tick = reconcileTickProcessor({ store, producer, clock: systemClock });
  try {
    o.log(`reconcile: seeding ${o.waiting} waiting cases, ${o.due} due`);
    const ids = await seed(o.redis, o.waiting, o.due, Date.now());
    const makeDue = async () => {
      // Claimed cases are leased into the future; put them back in the past for the next tick.
      const args: (string | number)[] = [];
      ids.forEach((id, k) => args.push(Date.now() - 60_000 + k, id));
      await o.redis.admin.zadd(keys.reconcile(), ...args);
    };
    await makeDue();
    await tick(); // warm-up: script loading, connection set-up
    const times: number[] = [];
    const commands = new Map<string, number>();
    let polls = 0;
    for (let i = 0; i < o.ticks; i++) {
      await makeDue();
      const before = await commandStats(o.redis.admin);
      const started = performance.now();
      const out = await tick();
      times.push(performance.now() - started);
      const d = statsDelta(before, await commandStats(o.redis.admin));
      for (const [k, v] of d) commands.set(k, (commands.get(k) ?? 0) + v);
      polls += Number(/polls:(\d+)/.exec(out)?.[1] ?? 0);
    }
    await makeDue();
    const monitor = await startMonitor(o.redis.url, scriptNames({ 'kyc:createCase': CREATE_CASE, 'kyc:applyTransition': APPLY_TRANSITION, 'kyc:claimDue': CLAIM_DUE, 'kyc:readCase': READ_CASE }));
    await tick();
    const acc = await monitor.stop();
    return {
      waiting: o.waiting, due: o.due, ticks: o.ticks,
      msPerTick: { mean: round(times.reduce((a, b) => a + b, 0) / times.length, 2), max: round(Math.max(...times), 2) },
      redisCommandsPerTick: round(total(commands) / o.ticks, 1),
      topCommandsPerTick: top(commands, 6, o.ticks),
      clientCallsPerTick: total(acc.client),
      luaCommandsPerTick: total(acc.luaByCommand),
      pollsQueuedPerTick: polls / o.ticks,
    };
  } finally {
    await producer.close();
    redis.disconnect();
  }
}
