/**
 * Redis write coalescing (queue/coalesce-writes.ts, issue 8): every connection `createRedis`
 * makes holds the commands sent in one turn of the event loop and writes them together when the
 * turn ends. Nothing may change but the number of writes: answers in order (plain commands,
 * scripts and MULTIs mixed), every awaited chain goes on, and a reconnected connection does the
 * same on its new socket. Runs on one Redis and, in the cluster fault test, on each master.
 */
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRedisUrl } from '../../src/config/redis-url.js';
import { createRedis, masters, redisReady, type RedisClient } from '../../src/queue/redis.js';
import { REDIS_URL } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

let client: RedisClient | undefined;
afterEach(() => {
  client?.disconnect();
  client = undefined;
});

const nextTick = () => new Promise<void>((r) => process.nextTick(r));
const socketOf = (node: Redis) => node.stream;

async function connect(): Promise<Redis[]> {
  client = createRedis(REDIS_URL, 'worker');
  await redisReady(client);
  await client.ping();
  const nodes = masters(client);
  expect(nodes.length).toBeGreaterThan(0);
  // A cluster connects to its nodes lazily: each one on its socket before the test looks at it.
  await Promise.all(nodes.map((n) => n.ping()));
  return nodes;
}

describe('Redis write coalescing', () => {
  it('holds the commands of one turn and writes them when it ends, answers in order', async () => {
    for (const node of await connect()) {
      const s = socketOf(node);
      const answers = Array.from({ length: 200 }, (_, i) => node.echo(`m${i}`));
      // Held, not written: the socket is corked and the commands are in its buffer.
      expect(s.writableCorked).toBe(1);
      expect(s.writableLength).toBeGreaterThan(200 * 10);
      await nextTick();
      expect(s.writableCorked).toBe(0);
      expect(await Promise.all(answers)).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`));
    }
  });

  it('keeps plain commands, scripts and MULTIs of one turn in the order they were sent', async () => {
    for (const node of await connect()) {
      node.defineCommand('echoTwice', { numberOfKeys: 0, lua: 'return { ARGV[1], ARGV[1] }' });
      const first = node.echo('a');
      const script = (node as unknown as { echoTwice(v: string): Promise<string[]> }).echoTwice('b');
      const multi = node.multi().echo('c').echo('d').exec();
      const last = node.echo('e');
      expect(socketOf(node).writableCorked).toBe(1);
      expect(await first).toBe('a');
      expect(await script).toEqual(['b', 'b']);
      expect(await multi).toEqual([[null, 'c'], [null, 'd']]);
      expect(await last).toBe('e');
    }
  });

  it('sends every command of an awaited chain, each turn written at its end', async () => {
    for (const node of await connect()) {
      const got: string[] = [];
      for (let i = 0; i < 100; i++) got.push(await node.echo(`c${i}`));
      expect(got).toEqual(Array.from({ length: 100 }, (_, i) => `c${i}`));
      expect(socketOf(node).writableCorked).toBe(0);
    }
  });

  // One Redis: the same connection comes back on a new socket. A cluster instead replaces a lost
  // node's connection with a new one, patched when the cluster adds it, like every node above.
  it.skipIf(parseRedisUrl(REDIS_URL).kind === 'cluster')('coalesces on the new socket after a reconnect, and loses nothing', async () => {
    for (const node of await connect()) {
      const before = socketOf(node);
      const id = await node.client('ID');
      const killer = createRedis(REDIS_URL, 'producer');
      try {
        await redisReady(killer);
        const [victim] = masters(killer).filter((m) => m.options.port === node.options.port && m.options.host === node.options.host);
        expect(await victim!.client('KILL', 'ID', String(id))).toBe(1);
      } finally {
        killer.disconnect();
      }
      await waitFor(() => node.status === 'ready' && socketOf(node) !== before, { what: 'the connection to come back on a new socket' });
      const answers = [node.echo('x'), node.echo('y')];
      expect(socketOf(node).writableCorked).toBe(1);
      expect(await Promise.all(answers)).toEqual(['x', 'y']);
      expect(before.writableCorked).toBe(0);
    }
  });
});
