/**
 * The printed table of a benchmark run and the targets, met or missed.
 */
import type { BenchResults } from '../run.js';

export interface Target { name: string; goal: string; value: number | null; met: boolean | null }

export function targets(r: BenchResults): Target[] {
  const t = (name: string, goal: string, value: number | undefined, ok: (v: number) => boolean): Target =>
    ({ name, goal, value: value ?? null, met: value === undefined ? null : ok(value) });
  return [
    t('ingest req/s, ours / naive', '>= 1.2', r.ingest?.ratio, (v) => v >= 1.2),
    t('p99 ack at 1,000 req/s (ms)', '<= 10', r.ingest && round(r.ingest.ours.fixedRate.p99), (v) => v <= 10),
    t('e2e decisions/s / bare BullMQ jobs/s', '>= 0.05', r.e2e?.ratioToNoop, (v) => v >= 0.05),
    t('Redis memory per finished case (B)', '<= 8192', r.e2e?.redisMemoryPerCaseBytes, (v) => v <= 8192),
  ];
}

const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;
const fmt = (x: number | undefined | null, d = 1): string => (x === undefined || x === null || Number.isNaN(x) ? '-' : round(x, d).toLocaleString('en-US'));
const mib = (b: number): string => `${fmt(b / 2 ** 20, 0)} MiB`;

function table(title: string, head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [`\n${title}`, line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function printReport(r: BenchResults): void {
  const parts: string[] = [];
  const m = r.machine;
  parts.push(`kyc-orchestrator benchmarks, ${r.startedAt}, scale ${r.scale}: ${m.nproc} × ${m.cpuModel}, ${m.memoryGiB} GiB, node ${m.node}, redis ${m.redis}; load average ${r.loadAverage.start.map((x) => x.toFixed(1)).join(' ')} → ${r.loadAverage.end.map((x) => x.toFixed(1)).join(' ')}`);
  if (r.ingest) {
    const { ours, naive } = r.ingest;
    parts.push(table(`1. Ingest: signed Kira webhooks, ${r.ingest.connections} connections, ${r.ingest.ours.rounds.length} alternating rounds of ${r.ingest.roundSeconds} s`, ['', 'ours', 'naive', 'ours/naive'], [
      ['requests/s', fmt(ours.rps, 0), fmt(naive.rps, 0), fmt(r.ingest.ratio, 2)],
      ['p50 ack (ms)', fmt(ours.p50, 2), fmt(naive.p50, 2), ''],
      ['p99 ack (ms)', fmt(ours.p99, 2), fmt(naive.p99, 2), ''],
      [`p50 / p99 ack at ${r.ingest.fixedRate} req/s (ms)`, `${fmt(ours.fixedRate.p50, 2)} / ${fmt(ours.fixedRate.p99, 2)}`, `${fmt(naive.fixedRate.p50, 2)} / ${fmt(naive.fixedRate.p99, 2)}`, ''],
      ['Redis commands / request', fmt(ours.redisCommandsPerRequest, 1), fmt(naive.redisCommandsPerRequest, 1), ''],
      ['CPU µs / request: receiver', fmt(ours.cpuUsPerRequest.receiver, 0), fmt(naive.cpuUsPerRequest.receiver, 0), fmt(ours.cpuUsPerRequest.receiver / naive.cpuUsPerRequest.receiver, 2)],
      ['CPU µs / request: Redis', fmt(ours.cpuUsPerRequest.redis, 0), fmt(naive.cpuUsPerRequest.redis, 0), ''],
      ['peak RSS', mib(ours.peakRssBytes), mib(naive.peakRssBytes), ''],
    ]));
  }
  if (r.e2e) {
    const e = r.e2e;
    parts.push(table(`2. End to end: ${e.cases.toLocaleString('en-US')} onboardings → decisions, api + ${e.workers} worker process, ${e.inflight} in flight`, ['', 'value'], [
      ['decisions/s', fmt(e.decisionsPerSec)],
      ['bare BullMQ no-op worker jobs/s (ceiling)', fmt(e.noopCeiling.jobsPerSec, 0)],
      ['  its CPU per job while draining: worker / Redis (µs)', e.noopCeiling.runs.map((n) => `${fmt(n.workerCpuUsPerJob, 0)} / ${fmt(n.redisCpuUsPerJob, 0)}`).join(', ')],
      ['  Redis CPU per job to fill its queue, before the clock (µs)', e.noopCeiling.runs.map((n) => fmt(n.redisAddCpuUsPerJob, 0)).join(', ')],
      ['ours / ceiling', fmt(e.ratioToNoop, 4)],
      ['onboarding → decision p50 / p99 (ms)', `${fmt(e.onboardingToDecisionMs.p50, 0)} / ${fmt(e.onboardingToDecisionMs.p99, 0)}`],
      ['failed Kira calls / circuit opened', `${e.providerCallErrors} / ${e.circuitOpens}`],
      ['Redis commands / case (INFO commandstats)', fmt(e.redisCommandsPerCase)],
      ...(e.accounting ? [
        [`  client calls / case (MONITOR, ${e.accounting.cases} cases)`, fmt(e.accounting.clientCallsPerCase)],
        ['  Lua-internal commands / case', fmt(e.accounting.luaCommandsPerCase)],
        ['  largest: scripts by Lua commands', e.accounting.topScriptsByLuaCommands.slice(0, 3).map(([k, v]) => `${k} ${v}`).join(', ')],
        ['  largest: client commands', e.accounting.topClientCommands.slice(0, 4).map(([k, v]) => `${k} ${v}`).join(', ')],
      ] : []),
      ['Redis memory / finished case (B)', fmt(e.redisMemoryPerCaseBytes, 0)],
      ...(e.memoryByKind ?? []).slice(0, 6).map((k) => [`  ${k.kind}`, `${fmt(k.bytesPerCase, 0)} B`]),
      ...e.processes.map((p) => [`peak RSS / CPU per case: ${p.name}`, `${mib(p.peakRssBytes)} / ${fmt(p.cpuMsPerCase, 2)} ms`]),
      ['CPU per case: Redis', `${fmt(e.redisCpuMsPerCase, 2)} ms`],
      ['CPU per case, all processes', `${fmt(caseCpuMs(e), 2)} ms`],
      ['  the same in no-op jobs (the ceiling\'s drain CPU per job); 5 % allows 20', fmt(caseCpuMs(e) / (noopCpuUsPerJob(e) / 1000), 1)],
      ['CPU per case: the load generator (not above; same cores)', `${fmt(e.driverCpuMsPerCase, 2)} ms`],
    ]));
  }
  if (r.scaling) {
    parts.push(table(`3. Scaling: end to end with N worker processes (${r.machine.nproc} cores shared by everything)`, ['workers', 'decisions/s', 'p50 (ms)', 'p99 (ms)', 'max (ms)', 'CPU ms / case (all)', 'failed Kira calls', 'circuit opened', 'event retries'],
      r.scaling.map((s) => [s.workers, fmt(s.decisionsPerSec), fmt(s.p50Ms, 0), fmt(s.p99Ms, 0), fmt(s.maxMs, 0), fmt(s.cpuMsPerCase, 2), s.providerCallErrors, s.circuitOpens, s.eventRetries])));
  }
  if (r.reconcile) {
    const c = r.reconcile;
    parts.push(table(`4. Reconcile tick: ${c.waiting.toLocaleString('en-US')} waiting cases, ${c.due} due (${c.ticks} ticks)`, ['', 'value'], [
      ['time / tick (ms), mean / max', `${fmt(c.msPerTick.mean, 1)} / ${fmt(c.msPerTick.max, 1)}`],
      ['Redis commands / tick', fmt(c.redisCommandsPerTick, 0)],
      ['  client calls / Lua-internal', `${c.clientCallsPerTick} / ${c.luaCommandsPerTick}`],
      ['polls queued / tick', fmt(c.pollsQueuedPerTick, 0)],
    ]));
  }
  if (r.targets) {
    parts.push(table('Targets', ['', 'goal', 'measured', ''], r.targets.map((t) => [t.name, t.goal, fmt(t.value, 4), t.met === null ? 'not run' : t.met ? 'met' : 'MISSED'])));
  }
  process.stdout.write(`${parts.join('\n')}\n`);
}

type E2eReport = NonNullable<BenchResults['e2e']>;

/** A case's CPU over the measured processes and Redis (the load generator apart), in ms. */
function caseCpuMs(e: E2eReport): number {
  return e.processes.reduce((a, p) => a + p.cpuMsPerCase, 0) + e.redisCpuMsPerCase;
}

/** The ceiling's CPU per drained job, worker and Redis, the mean of its runs, in µs. */
function noopCpuUsPerJob(e: E2eReport): number {
  const runs = e.noopCeiling.runs;
  return runs.reduce((a, n) => a + n.workerCpuUsPerJob + n.redisCpuUsPerJob, 0) / runs.length;
}
