/**
 * The Redis nonce source (src/store/nonce.ts) against a real Redis, with two separate clients
 * standing for two processes sharing one API key.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { fixedClock, systemClock, type Clock } from '../../src/lib/clock.js';
import { createRedisNonceSource, nonceKeys } from '../../src/store/nonce.js';
import { dropPrefix, REDIS_URL } from '../helpers/redis.js';

const namespace = `{t-nonce-${randomUUID().slice(0, 8)}}`;
const a = new Redis(REDIS_URL);
const b = new Redis(REDIS_URL);
afterAll(async () => {
  a.disconnect();
  b.disconnect();
  await dropPrefix(namespace);
});

const source = (redis: Redis, apiKey: string, clock: Clock = systemClock) =>
  createRedisNonceSource({ redis, apiKey, clock, namespace });

const strictlyIncreasing = (list: string[]): boolean =>
  list.every((n, i) => i === 0 || BigInt(n) > BigInt(list[i - 1]!));

describe('Redis nonce source', () => {
  it('issues unique, strictly increasing nonces to two clients issuing 2 × 1000 concurrently', async () => {
    const key = randomUUID();
    const [x, y] = [source(a, key), source(b, key)];
    const issue = (s: ReturnType<typeof source>) =>
      Promise.all(Array.from({ length: 1000 }, () => s.next()));
    const [fromA, fromB] = await Promise.all([issue(x), issue(y)]);
    const all = [...fromA, ...fromB];
    expect(new Set(all).size).toBe(2000);
    // Each client's answers come back in command order: each sequence increases strictly.
    expect(strictlyIncreasing(fromA)).toBe(true);
    expect(strictlyIncreasing(fromB)).toBe(true);
    expect(all.every((n) => /^[1-9]\d{18}$/.test(n))).toBe(true);
  });

  it('falls back to last + 1 (INCR, exact at 19 digits) when the clock has not moved past the last nonce', async () => {
    const key = randomUUID();
    const frozen = source(a, key, fixedClock('2026-01-01T00:00:00Z'));
    expect(await frozen.next()).toBe('1767225600000000000');
    expect(await frozen.next()).toBe('1767225600000000001');
    // A host whose clock is far ahead set a larger nonce: a 19-digit value doubles cannot hold.
    await b.set(nonceKeys(key, namespace).last, '9007199254740993123');
    expect(await source(b, key, fixedClock('2026-01-01T00:00:00Z')).next()).toBe(
      '9007199254740993124',
    );
    expect(await frozen.next()).toBe('9007199254740993125');
    // A later clock wins again only when it is really larger (a longer string is larger).
    await a.set(nonceKeys(key, namespace).last, '999999999999');
    expect(await frozen.next()).toBe('1767225600000000000');
  });

  it('withNonce: calls of one API key from two clients never overlap, so nonces arrive in order', async () => {
    const key = randomUUID();
    const [x, y] = [source(a, key), source(b, key)];
    const arrivals: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const call = (s: ReturnType<typeof source>) =>
      s.withNonce(
        async (nonce) => {
          inFlight += 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise((r) => setTimeout(r, Math.random() * 3));
          arrivals.push(nonce);
          inFlight -= 1;
        },
        { holdMs: 5_000 },
      );
    await Promise.all(Array.from({ length: 60 }, (_, i) => call(i % 2 === 0 ? x : y)));
    expect(maxInFlight).toBe(1);
    expect(arrivals).toHaveLength(60);
    expect(strictlyIncreasing(arrivals)).toBe(true);
  });

  it('withNonce: a holder that never releases (crashed) blocks the key only until its lease expires', async () => {
    const key = randomUUID();
    await a.set(nonceKeys(key, namespace).lease, 'crashed-holder', 'PX', 300);
    const started = performance.now();
    const nonce = await source(b, key).withNonce((n) => Promise.resolve(n), { holdMs: 1_000 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(nonce).toMatch(/^\d{19}$/);
  });

  it('withNonce: a wait for a busy key ends with the caller signal', async () => {
    const key = randomUUID();
    await a.set(nonceKeys(key, namespace).lease, 'busy', 'PX', 10_000);
    const signal = AbortSignal.timeout(100);
    await expect(
      source(b, key).withNonce((n) => Promise.resolve(n), { holdMs: 1_000, signal }),
    ).rejects.toThrow();
    await a.del(nonceKeys(key, namespace).lease);
  });
});
