/**
 * `npm run bench`: the benchmarks of issue 8, on a Redis of their own, every process separate.
 *   1. ingest: our POST /webhooks/kira vs the naive receiver (bench/naive-receiver.ts)
 *   2. end to end: onboardings → decisions through the Kira simulator, vs a bare BullMQ no-op worker
 *   3. scaling: end to end with 1, 2 and 4 worker processes
 *   4. reconcile: one tick over 100,000 waiting cases, 100 of them due
 * Prints a table and writes bench/results/latest.json. BENCH_SCALE (default 1) scales every size
 * (0.1 for a quick run); BENCH_ONLY=ingest,e2e,scaling,reconcile runs a subset; BENCH_KEEP_LOGS=1
 * keeps every process's log (and BENCH_CPU_PROF=<dir> writes CPU profiles, see lib/procs.ts). The
 * measured processes run src/ and bench/ compiled by tsc, as the Docker image runs dist/;
 * BENCH_TSX=1 runs the sources through tsx instead.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchE2e, type E2eResult } from './e2e.js';
import { benchIngest, type IngestResult } from './ingest.js';
import { compileForBench, killAllNow, ROOT, runJsonChild, stopAll } from './lib/procs.js';
import { startRedis, type BenchRedis } from './lib/redis.js';
import { CONCURRENCY } from './lib/stack.js';
import { printReport, targets } from './lib/report.js';
import { benchReconcile, type ReconcileResult } from './reconcile.js';

export interface NoopResult {
  jobs: number; seconds: number; jobsPerSec: number; addPerSec: number; concurrency: number;
  /** The worker process's CPU per job while draining. */
  workerCpuUsPerJob: number;
  /** Redis's CPU per job while the worker drained (its INFO); filling the queue is apart. */
  redisCpuUsPerJob: number; redisAddCpuUsPerJob: number;
}

export interface BenchResults {
  startedAt: string;
  scale: number;
  machine: Record<string, string | number>;
  ingest?: IngestResult;
  e2e?: E2eResult & { noopCeiling: { runs: NoopResult[]; jobsPerSec: number }; ratioToNoop: number };
  scaling?: { workers: number; decisionsPerSec: number; p50Ms: number; p99Ms: number; maxMs: number; cpuMsPerCase: number; providerCallErrors: number; circuitOpens: number; eventRetries: number }[];
  reconcile?: ReconcileResult;
  targets?: ReturnType<typeof targets>;
  loadAverage: { start: number[]; end: number[] };
  durationSeconds: number;
}

function machine(redisVersion: string): Record<string, string | number> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    nproc: availableParallelism(),
    cpuModel: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    redis: redisVersion,
  };
}

async function noop(redis: BenchRedis, logDir: string, jobs: number, n: number): Promise<NoopResult> {
  return runJsonChild<NoopResult>(`noop-${n}`, 'bench/noop-worker.ts', { url: redis.url, prefix: 'noop', jobs, concurrency: CONCURRENCY }, { logDir });
}

async function main(): Promise<void> {
  const scale = Number(process.env.BENCH_SCALE ?? 1);
  if (!(scale > 0)) throw new Error('BENCH_SCALE must be a positive number');
  const only = new Set((process.env.BENCH_ONLY ?? 'ingest,e2e,scaling,reconcile').split(',').map((s) => s.trim()));
  const sized = (n: number, min: number) => Math.max(min, Math.round(n * scale));
  const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
  const logDir = mkdtempSync(join(tmpdir(), 'kyc-bench-'));
  log(process.env.BENCH_TSX === '1' ? 'running the TypeScript sources through tsx (BENCH_TSX=1)' : 'compiling src/ and bench/ (tsconfig.bench.json)');
  compileForBench();
  const started = performance.now();
  const out: BenchResults = { startedAt: new Date().toISOString(), scale, machine: {}, loadAverage: { start: loadavg(), end: [] }, durationSeconds: 0 };
  const redis = await startRedis(logDir);
  out.machine = machine(redis.version);
  log(`redis-server ${redis.version} on ${redis.url}; logs in ${logDir}`);
  try {
    if (only.has('ingest')) {
      out.ingest = await benchIngest({ redis, logDir, roundSeconds: sized(10, 2), rounds: scale >= 0.5 ? 4 : 2, fixedRateSeconds: sized(15, 3), log });
    }
    if (only.has('e2e')) {
      // 100,000 jobs: 3.5–5.5 s of draining per run. At 20,000 (~1 s) the two runs of one
      // benchmark differed by up to 58 %, and so short a run weighs its warm-up heavily.
      const noopJobs = sized(100_000, 2_000);
      const runs = [await noop(redis, logDir, noopJobs, 1)];
      log(`bare BullMQ no-op worker: ${Math.round(runs[0]!.jobsPerSec)} jobs/s`);
      const cases = sized(10_000, 200);
      const e2e = await benchE2e({ redis, logDir, cases, workers: 1, inflight: Number(process.env.BENCH_INFLIGHT ?? 200), detail: { accountingCases: sized(500, 100) }, log });
      await redis.admin.flushall();
      runs.push(await noop(redis, logDir, noopJobs, 2));
      log(`bare BullMQ no-op worker: ${Math.round(runs[1]!.jobsPerSec)} jobs/s`);
      const jobsPerSec = runs.reduce((a, r) => a + r.jobsPerSec, 0) / runs.length;
      out.e2e = { ...e2e, noopCeiling: { runs, jobsPerSec: Math.round(jobsPerSec) }, ratioToNoop: Math.round((e2e.decisionsPerSec / jobsPerSec) * 10_000) / 10_000 };
    }
    if (only.has('scaling')) {
      out.scaling = [];
      for (const workers of [1, 2, 4]) {
        const r = await benchE2e({ redis, logDir, cases: sized(2_000, 200), workers, inflight: Number(process.env.BENCH_INFLIGHT ?? 200), log });
        const cpu = r.processes.reduce((a, p) => a + p.cpuMsPerCase, 0) + r.redisCpuMsPerCase;
        out.scaling.push({ workers, decisionsPerSec: r.decisionsPerSec, p50Ms: r.onboardingToDecisionMs.p50, p99Ms: r.onboardingToDecisionMs.p99, maxMs: r.onboardingToDecisionMs.max, cpuMsPerCase: Math.round(cpu * 100) / 100, providerCallErrors: r.providerCallErrors, circuitOpens: r.circuitOpens, eventRetries: r.eventRetries });
      }
    }
    if (only.has('reconcile')) {
      out.reconcile = await benchReconcile({ redis, waiting: sized(100_000, 1_000), due: 100, ticks: 5, log });
    }
    out.loadAverage.end = loadavg();
    out.durationSeconds = Math.round((performance.now() - started) / 1000);
    out.targets = targets(out);
    printReport(out);
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', 'latest.json'), `${JSON.stringify(out, null, 2)}\n`);
    log(`wrote bench/results/latest.json (${out.durationSeconds} s)`);
  } catch (err) {
    log(`failed; process logs kept in ${logDir}`);
    throw err;
  } finally {
    redis.admin.disconnect();
    await stopAll();
  }
  if (process.env.BENCH_KEEP_LOGS) log(`process logs kept in ${logDir}`);
  else rmSync(logDir, { recursive: true, force: true });
}

process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stopAll().finally(() => process.exit(130));
  });
}
main().catch((err: unknown) => {
  process.stderr.write(`[bench] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
