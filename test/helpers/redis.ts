import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { parseRedisUrl } from '../../src/config/redis-url.js';
import { masters, redisReady, type RedisClient } from '../../src/queue/redis.js';
import { waitFor } from './wait.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function uniquePrefix(): string {
  return `{t-${Math.random().toString(36).slice(2, 10)}}`;
}

/**
 * A client of the suite's Redis (REDIS_URL): one Redis, or a Redis Cluster for a
 * `redis+cluster://` URL. Tests that talk to the shared Redis use this instead of `new Redis`,
 * so the integration suite also runs against a cluster. The caller disconnects it. For a BullMQ
 * Worker pass `{ maxRetriesPerRequest: null }`.
 */
export function connectRedis(url = REDIS_URL, opts: { maxRetriesPerRequest?: number | null } = {}): RedisClient {
  const t = parseRedisUrl(url);
  if (t.kind === 'standalone') return new Redis(t.url, opts);
  return new Cluster(t.nodes, {
    redisOptions: { ...opts, ...(t.username ? { username: t.username } : {}), ...(t.password ? { password: t.password } : {}), ...(t.tls ? { tls: {} } : {}) },
  });
}

/** Calls `each` with every batch of keys matching `pattern`, on every master (a cluster's SCAN sees one node). */
export async function scanEach(r: RedisClient, pattern: string, each: (node: Redis, keys: string[]) => Promise<void>): Promise<void> {
  await redisReady(r, 10_000);
  for (const node of masters(r)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await each(node, keys);
    } while (cursor !== '0');
  }
}

/** Every key matching `pattern` (all masters of a cluster). */
export async function scanKeys(r: RedisClient, pattern: string): Promise<string[]> {
  const out: string[] = [];
  await scanEach(r, pattern, (_node, keys) => { out.push(...keys); return Promise.resolve(); });
  return out;
}

/** Deletes every key of a test prefix. */
export async function dropPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const r = connectRedis(url, { maxRetriesPerRequest: 1 });
  try {
    // One DEL per key: on a cluster a multi-key DEL must stay within one slot, and a prefix
    // without a hash tag spreads over many.
    await scanEach(r, `${prefix}*`, async (node, keys) => {
      const p = node.pipeline();
      for (const k of keys) p.del(k);
      await p.exec();
    });
  } finally {
    r.disconnect();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** A private redis-server on a free port (AOF on), for tests that stop or kill Redis. */
export interface OwnRedis {
  url: string;
  port: number;
  stop(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function startOwnRedis(opts: { appendonly?: boolean } = {}): Promise<OwnRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kyc-redis-'));
  let proc: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  async function start(): Promise<void> {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      '--appendonly', opts.appendonly === false ? 'no' : 'yes', '--appendfsync', 'always'], { stdio: 'ignore' });
    const p = proc;
    const outcome = await waitFor(async () => {
      // A server that could not start (its port taken meanwhile) is an answer, not something to wait out.
      if (p.exitCode !== null) return 'exited';
      const r = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
      r.on('error', () => undefined);
      try {
        await r.connect();
        return (await r.ping()) === 'PONG' ? 'up' : undefined;
      } finally {
        r.disconnect();
      }
    }, { timeoutMs: 10_000, what: `redis-server on ${port}` });
    if (outcome === 'exited') throw new Error(`redis-server on ${port} exited with code ${p.exitCode} (port taken?)`);
  }
  async function stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = proc;
    // A process killed by a signal has exitCode null and signalCode set.
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((r) => { p.once('exit', () => r()); p.kill(signal); });
  }
  await start();
  return { url, port, stop, start, cleanup: async () => { await stop(); rmSync(dir, { recursive: true, force: true }); } };
}
