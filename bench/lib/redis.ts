/**
 * The benchmark's own redis-server (a free port, no persistence) so that INFO commandstats and
 * memory count only what the benchmark does, and the helpers that read them.
 */
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { freePort, spawnProc, until, type Proc } from './procs.js';

export interface BenchRedis {
  url: string;
  proc: Proc;
  /** A plain connection for the benchmark's own reads (INFO, SCAN, seeding). */
  admin: Redis;
  version: string;
}

export async function startRedis(logDir: string): Promise<BenchRedis> {
  const port = await freePort();
  const proc = spawnProc('redis-server', 'redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--maxmemory-policy', 'noeviction', '--dir', logDir,
  ], { logDir });
  const url = `redis://127.0.0.1:${port}`;
  const admin = new Redis(url, { maxRetriesPerRequest: 3, lazyConnect: true });
  admin.on('error', () => undefined);
  await until(async () => {
    if (admin.status !== 'ready') await admin.connect();
    return (await admin.ping()) === 'PONG';
  }, `redis-server on ${port}`, 10_000);
  const info = await admin.info('server');
  return { url, proc, admin, version: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown' };
}

/** calls per command from INFO commandstats (`evalsha`, `hset`, `client|setname`, …). */
export async function commandStats(r: Redis): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await r.info('commandstats')).split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** after − before, per command, without the benchmark's own INFO calls. */
export function statsDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) {
    if (k === 'info') continue;
    const d = v - (before.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return out;
}

export function total(m: Map<string, number>): number {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
}

/** The `n` largest entries, as `[name, value / per]`. */
export function top(m: Map<string, number>, n: number, per = 1): [string, number][] {
  return [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => [k, round(v / per, 2)]);
}

export async function usedMemory(r: Redis): Promise<number> {
  const m = /used_memory:(\d+)/.exec(await r.info('memory'));
  return Number(m?.[1] ?? NaN);
}

/** Redis's own CPU time so far (INFO cpu: used_cpu_sys + used_cpu_user), in seconds. */
export async function redisCpuSeconds(r: Redis): Promise<number> {
  const info = await r.info('cpu');
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return field('used_cpu_sys') + field('used_cpu_user');
}

export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Names of the Lua scripts a MONITOR line may run, by SHA1: BullMQ's (as its connection defines
 * them) and any extra scripts given by name.
 */
export function scriptNames(extra: Record<string, string>): Map<string, string> {
  const require = createRequire(import.meta.url);
  const scripts = require('bullmq/dist/cjs/scripts/index.js') as Record<string, { name: string; content: string }>;
  const out = new Map<string, string>();
  const sha = (lua: string) => createHash('sha1').update(lua).digest('hex');
  for (const s of Object.values(scripts)) out.set(sha(s.content), `bullmq:${s.name}`);
  for (const [name, lua] of Object.entries(extra)) out.set(sha(lua), name);
  return out;
}

export interface Accounting {
  /** Commands sent by clients (each command of a MULTI or pipeline counts once). */
  client: Map<string, number>;
  /** Commands run inside Lua scripts, by script name. */
  luaByScript: Map<string, number>;
  /** Commands run inside Lua scripts, by command. */
  luaByCommand: Map<string, number>;
  /** Client calls of each script. */
  scriptCalls: Map<string, number>;
}

/**
 * Counts client and Lua-internal commands exactly from a MONITOR feed (Redis prints a script's
 * own commands as `[0 lua]` right after the EVALSHA that ran them). MONITOR slows Redis, so it
 * only runs during a separate accounting pass, never during a timed one.
 */
export async function startMonitor(url: string, names: Map<string, string>): Promise<{ stop(): Promise<Accounting> }> {
  const conn = new Redis(url, { lazyConnect: true });
  await conn.connect();
  const monitor = await conn.monitor();
  const acc: Accounting = { client: new Map(), luaByScript: new Map(), luaByCommand: new Map(), scriptCalls: new Map() };
  const inc = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  let current = 'unknown';
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const cmd = (args[0] ?? '').toLowerCase();
    if (source === 'lua') {
      inc(acc.luaByScript, current);
      inc(acc.luaByCommand, cmd);
      return;
    }
    inc(acc.client, cmd);
    if (cmd === 'evalsha' || cmd === 'eval') {
      const sha = cmd === 'evalsha' ? (args[1] ?? '') : createHash('sha1').update(args[1] ?? '').digest('hex');
      current = names.get(sha) ?? `script:${sha.slice(0, 8)}`;
      inc(acc.scriptCalls, current);
    }
  });
  return {
    async stop() {
      // Let the feed catch up with the last commands before disconnecting.
      await new Promise((r) => setTimeout(r, 200));
      monitor.disconnect();
      conn.disconnect();
      return acc;
    },
  };
}
