/**
 * The Redis circuit breaker shared by two "processes": two breaker sets on two separate Redis
 * connections, same prefix, one injected clock. What one process learns, the other acts on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import type { CircuitPolicy, CircuitState, Ticket } from '../../src/lib/circuit.js';
import { createLogger } from '../../src/lib/logger.js';
import { createRedis, redisReady, type RedisClient } from '../../src/queue/redis.js';
import { circuitKey, createCircuitBreakers } from '../../src/store/circuit-breaker.js';
import { dropPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.js';

const POLICY: CircuitPolicy = { failureThreshold: 5, openForMs: 30_000, maxOpenForMs: 300_000, probeLeaseMs: 40_000, probeWaitMs: 1_000 };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function twoProcesses() {
  const prefix = uniquePrefix();
  const clock = fixedClock('2026-03-01T12:00:00Z');
  const log = createLogger({ level: 'silent' });
  const make = async (name: string) => {
    const redis: RedisClient = createRedis(REDIS_URL, 'producer');
    await redisReady(redis);
    const transitions: CircuitState[] = [];
    let rejected = 0;
    const set = createCircuitBreakers({
      redis, prefix, policy: POLICY, clock, log: log.child({ name }),
      onTransition: (_p, to) => transitions.push(to), onReject: () => { rejected += 1; },
    });
    cleanups.push(() => { redis.disconnect(); return Promise.resolve(); });
    return { redis, breaker: set.get('kira'), set, transitions, rejected: () => rejected };
  };
  const a = await make('a');
  const b = await make('b');
  cleanups.push(() => dropPrefix(prefix));
  return { prefix, clock, a, b };
}

async function ticket(x: { breaker: { admit(): Promise<{ ok: true; ticket: Ticket } | { ok: false; waitMs: number }> } }): Promise<Ticket> {
  const r = await x.breaker.admit();
  if (!r.ok) throw new Error(`refused (${r.waitMs} ms)`);
  return r.ticket;
}

describe('Redis circuit breaker shared by two processes', () => {
  it('opens for both when one sees the failures, under the prefix hash tag, and closes for both on a probe success', async () => {
    const { prefix, clock, a, b } = await twoProcesses();
    for (let i = 0; i < 4; i += 1) await a.breaker.record(await ticket(a), 'failure');
    expect(await b.breaker.state()).toBe('closed');
    await a.breaker.record(await ticket(a), 'failure');
    expect(await b.breaker.state()).toBe('open');
    expect(await b.breaker.admit()).toEqual({ ok: false, waitMs: 30_000 });
    expect(await b.set.states()).toEqual([{ provider: 'kira', state: 'open' }]);
    // One key, inside the prefix's {hash tag}, so it lives in the deployment's cluster slot.
    expect(prefix).toMatch(/^\{[^}]+\}$/);
    const raw = await a.redis.get(circuitKey(prefix, 'kira'));
    expect(JSON.parse(raw!)).toMatchObject({ state: 'open', trips: 1 });
    expect(circuitKey(prefix, 'kira').startsWith(`${prefix}:`)).toBe(true);

    clock.advance(30_000);
    expect(await a.breaker.state()).toBe('half_open');
    const probe = await ticket(b);
    expect(probe.probe).toBe(true);
    await b.breaker.record(probe, 'success');
    expect(await a.breaker.state()).toBe('closed');
    expect((await ticket(a)).probe).toBe(false);
    expect(a.transitions).toEqual(['open']);
    expect(b.transitions).toEqual(['half_open', 'closed']);
    expect(b.rejected()).toBe(1);
  });

  it('lets exactly one probe through among 40 concurrent callers of both processes; a failed probe re-opens for twice as long', async () => {
    const { clock, a, b } = await twoProcesses();
    for (let i = 0; i < 5; i += 1) await a.breaker.record(await ticket(a), 'failure');
    clock.advance(30_000);
    const admissions = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).breaker.admit()));
    const probes = admissions.filter((x) => x.ok);
    expect(probes).toHaveLength(1);
    expect(admissions.filter((x) => !x.ok).every((x) => !x.ok && x.waitMs === 1_000)).toBe(true);
    expect(a.rejected() + b.rejected()).toBe(39);
    expect([...a.transitions, ...b.transitions].filter((t) => t === 'half_open')).toHaveLength(1);

    const winner = probes[0]!;
    if (!winner.ok) throw new Error('unreachable');
    const owner = admissions.indexOf(winner) % 2 === 0 ? a : b;
    await owner.breaker.record(winner.ticket, 'failure');
    expect(await a.breaker.admit()).toEqual({ ok: false, waitMs: 60_000 });
    expect(await b.breaker.admit()).toEqual({ ok: false, waitMs: 60_000 });
  });

  it('counts 50 concurrent failures from both processes as one opening', async () => {
    const { a, b } = await twoProcesses();
    const tickets = await Promise.all(Array.from({ length: 50 }, (_, i) => ticket(i % 2 === 0 ? a : b)));
    await Promise.all(tickets.map((t, i) => (i % 2 === 0 ? a : b).breaker.record(t, 'failure')));
    expect([...a.transitions, ...b.transitions]).toEqual(['open']);
    expect(await b.breaker.state()).toBe('open');
  });

  it('replaces a probe whose process died once its lease lapses, and ignores that probe if it reports late', async () => {
    const { clock, a, b } = await twoProcesses();
    for (let i = 0; i < 5; i += 1) await a.breaker.record(await ticket(a), 'failure');
    clock.advance(30_000);
    const lost = await ticket(a); // a "dies" holding the probe lease
    expect(await b.breaker.admit()).toEqual({ ok: false, waitMs: 1_000 });
    clock.advance(40_000);
    const replacement = await ticket(b);
    expect(replacement.probe).toBe(true);
    await a.breaker.record(lost, 'success'); // stale: must not close the circuit under b's probe
    expect(await a.breaker.state()).toBe('half_open');
    await b.breaker.record(replacement, 'failure');
    expect(await a.breaker.state()).toBe('open');
  });
});
