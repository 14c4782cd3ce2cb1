/**
 * Measurement 1, ingest: signed Kira webhooks to our api and to the naive receiver, alternating
 * rounds on the same Redis, load from a separate autocannon process; then a fixed 1,000 req/s.
 */
import type { LoadInput, LoadResult } from './load.js';
import { cpuSeconds, peakRss, runJsonChild } from './lib/procs.js';
import { commandStats, round, statsDelta, top, total, type BenchRedis } from './lib/redis.js';
import { startApi, startNaive, WEBHOOK_SECRET, type Running } from './lib/stack.js';
import { freePort } from './lib/procs.js';

export interface IngestSide {
  rounds: LoadResult[];
  rps: number;
  p50: number;
  p99: number;
  redisCommandsPerRequest: number;
  topCommandsPerRequest: [string, number][];
  /** CPU time per acknowledged request (µs) of the receiver, of Redis and of the load generator. */
  cpuUsPerRequest: { receiver: number; redis: number; load: number };
  fixedRate: LoadResult;
  peakRssBytes: number;
}

export interface IngestResult {
  connections: number;
  roundSeconds: number;
  ours: IngestSide;
  naive: IngestSide;
  /** ours / naive requests per second, per round and overall (mean of the per-round ratios). */
  ratioPerRound: number[];
  ratio: number;
  fixedRate: number;
}

export interface IngestOptions {
  redis: BenchRedis;
  logDir: string;
  roundSeconds: number;
  rounds: number;
  fixedRateSeconds: number;
  log(msg: string): void;
}

const CONNECTIONS = 32;

interface Measured {
  r: LoadResult;
  delta: Map<string, number>;
  /** CPU seconds the receiver and Redis used during the round. */
  cpu: { receiver: number; redis: number };
}
const FIXED_RATE = 1_000;

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export async function benchIngest(o: IngestOptions): Promise<IngestResult> {
  await o.redis.admin.flushall();
  // The api only ingests here; no Kira call is made, so the base URL needs no server behind it.
  const ours = await startApi({ redisUrl: o.redis.url, kiraUrl: 'http://127.0.0.1:9', logDir: o.logDir }, await freePort());
  const naive = await startNaive(o.redis.url, o.logDir);
  try {
    let n = 0;
    const load = (side: Running, durationS: number, overallRate?: number): Promise<LoadResult> => {
      const input: LoadInput = {
        url: side.url, path: '/webhooks/kira', connections: CONNECTIONS, durationS, overallRate,
        secret: WEBHOOK_SECRET, idPrefix: `evt-${Date.now().toString(36)}-${n++}`,
      };
      return runJsonChild<LoadResult>(`load-${n}`, 'bench/load.ts', input, { logDir: o.logDir });
    };
    const measured = async (side: Running, durationS: number): Promise<Measured> => {
      const before = await commandStats(o.redis.admin);
      const cpu0 = [cpuSeconds(side.proc.pid), cpuSeconds(o.redis.proc.pid)] as const;
      const r = await load(side, durationS);
      const cpu = { receiver: cpuSeconds(side.proc.pid) - cpu0[0], redis: cpuSeconds(o.redis.proc.pid) - cpu0[1] };
      const delta = statsDelta(before, await commandStats(o.redis.admin));
      if (r.non2xx > 0 || r.errors > 0) throw new Error(`ingest: ${side.proc.name} answered ${JSON.stringify(r.statusCodes)} with ${r.errors} errors`);
      return { r, delta, cpu };
    };
    o.log('ingest: warm-up');
    await load(ours, 2);
    await load(naive, 2);
    const sides = { ours: [] as Measured[], naive: [] as Measured[] };
    for (let i = 0; i < o.rounds; i++) {
      // ABBA order, so a drift in machine load does not favour one side.
      const order = i % 2 === 0 ? (['ours', 'naive'] as const) : (['naive', 'ours'] as const);
      for (const s of order) {
        const m = await measured(s === 'ours' ? ours : naive, o.roundSeconds);
        sides[s].push(m);
        o.log(`ingest round ${i + 1} ${s}: ${Math.round(m.r.rps)} req/s, p50 ${round(m.r.p50, 2)} ms, p99 ${round(m.r.p99, 2)} ms, cpu/req µs receiver ${Math.round((m.cpu.receiver * 1e6) / m.r.ok)} redis ${Math.round((m.cpu.redis * 1e6) / m.r.ok)} load ${Math.round(m.r.loadCpuUsPerRequest)}`);
      }
    }
    o.log(`ingest: fixed ${FIXED_RATE} req/s`);
    const fixedOurs = await load(ours, o.fixedRateSeconds, FIXED_RATE);
    const fixedNaive = await load(naive, o.fixedRateSeconds, FIXED_RATE);
    const summarise = (ms: Measured[], fixed: LoadResult, proc: Running): IngestSide => {
      const requests = ms.reduce((a, m) => a + m.r.ok, 0);
      const cpuUs = (k: 'receiver' | 'redis') => Math.round((ms.reduce((a, m) => a + m.cpu[k], 0) * 1e6) / requests);
      const cmds = new Map<string, number>();
      for (const m of ms) for (const [k, v] of m.delta) cmds.set(k, (cmds.get(k) ?? 0) + v);
      return {
        rounds: ms.map((m) => m.r),
        rps: mean(ms.map((m) => m.r.rps)),
        p50: mean(ms.map((m) => m.r.p50)),
        p99: mean(ms.map((m) => m.r.p99)),
        redisCommandsPerRequest: round(total(cmds) / requests, 2),
        topCommandsPerRequest: top(cmds, 6, requests),
        cpuUsPerRequest: { receiver: cpuUs('receiver'), redis: cpuUs('redis'), load: Math.round(mean(ms.map((m) => m.r.loadCpuUsPerRequest))) },
        fixedRate: fixed,
        peakRssBytes: peakRss(proc.proc.pid),
      };
    };
    const oursSide = summarise(sides.ours, fixedOurs, ours);
    const naiveSide = summarise(sides.naive, fixedNaive, naive);
    const ratioPerRound = sides.ours.map((m, i) => round(m.r.rps / sides.naive[i]!.r.rps, 3));
    return {
      connections: CONNECTIONS, roundSeconds: o.roundSeconds, ours: oursSide, naive: naiveSide,
      ratioPerRound, ratio: round(mean(ratioPerRound), 3), fixedRate: FIXED_RATE,
    };
  } finally {
    await Promise.all([ours.proc.stop(), naive.proc.stop()]);
  }
}
