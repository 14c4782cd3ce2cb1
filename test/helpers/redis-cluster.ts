/**
 * A private 3-master Redis Cluster on free ports (no replicas, no persistence), for the test that
 * runs the integration suite against a cluster. Started the way an operator would:
 * `redis-server --cluster-enabled yes` per node, then `redis-cli --cluster create`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './redis.js';
import { waitFor } from './wait.js';

export interface OwnCluster {
  /** `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`: what REDIS_URL takes. */
  url: string;
  ports: number[];
  /** `INFO <section>` of every node, parsed (field → value), in `ports` order. */
  info(section: string): Promise<Record<string, string>[]>;
  /** DBSIZE of every node, in `ports` order. */
  dbsizes(): Promise<number[]>;
  /** CONFIG RESETSTAT on every node (zeroes keyspace_hits, commandstats, …). */
  resetStats(): Promise<void>;
  cleanup(): Promise<void>;
}

const MASTERS = 3;

export async function startOwnCluster(): Promise<OwnCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'kyc-cluster-'));
  const procs: ChildProcess[] = [];
  const ports: number[] = [];
  try {
    // The bus port defaults to port + 10000, which is past 65535 for most ephemeral ports.
    const free = await distinctFreePorts(MASTERS * 2);
    for (let i = 0; i < MASTERS; i += 1) {
      const port = free[2 * i]!;
      const busPort = free[2 * i + 1]!;
      ports.push(port);
      procs.push(spawn('redis-server', [
        '--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1', '--dir', dir,
        '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '5000',
        '--save', '', '--appendonly', 'no',
      ], { stdio: 'ignore' }));
    }
    await Promise.all(ports.map((p) => waitFor(() => nodeCommand(p, ['PING']).then((r) => r === 'PONG'), { timeoutMs: 10_000, what: `redis-server on ${p}` })));
    await createCluster(ports);
    await waitFor(async () => {
      const infos = await Promise.all(ports.map((p) => nodeCommand(p, ['CLUSTER', 'INFO'])));
      return infos.every((i) => typeof i === 'string' && /^cluster_state:ok\r?$/m.test(i) && /^cluster_known_nodes:3\r?$/m.test(i));
    }, { timeoutMs: 20_000, what: 'cluster_state:ok on every node' });
  } catch (err) {
    await stopAll(procs);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  async function info(section: string): Promise<Record<string, string>[]> {
    return Promise.all(ports.map(async (p) => parseInfo(String(await nodeCommand(p, ['INFO', section])))));
  }
  return {
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    ports,
    info,
    dbsizes: () => Promise.all(ports.map(async (p) => Number(await nodeCommand(p, ['DBSIZE'])))),
    resetStats: async () => { await Promise.all(ports.map((p) => nodeCommand(p, ['CONFIG', 'RESETSTAT']))); },
    cleanup: async () => { await stopAll(procs); rmSync(dir, { recursive: true, force: true }); },
  };
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function createCluster(ports: number[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'];
    const cli = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    cli.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    cli.stderr.on('data', (b: Buffer) => { out += b.toString(); });
    cli.on('error', reject);
    cli.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`redis-cli --cluster create exited ${code}:\n${out}`))));
  });
}

/** One command on one node, over a short-lived plain connection (not the cluster client). */
async function nodeCommand(port: number, args: string[]): Promise<unknown> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await r.call(args[0]!, ...args.slice(1));
  } finally {
    r.disconnect();
  }
}

function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

async function stopAll(procs: ChildProcess[]): Promise<void> {
  await Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => { p.once('exit', () => r()); p.kill('SIGKILL'); }))));
}
