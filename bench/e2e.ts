/**
 * Measurements 2 and 3, end to end: onboardings through the Kira simulator (its own process, no
 * latency) to terminal decisions, with our api and N worker processes, closed loop (a fixed
 * number of onboardings in flight). Redis commands and memory per case come from INFO deltas
 * over the measured cases; an optional accounting pass splits client from Lua-internal commands
 * with MONITOR.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { storeKeys } from '../src/store/keys.js';
import { APPLY_TRANSITION, CLAIM_DUE, CREATE_CASE, READ_CASE } from '../src/store/scripts.js';
import { cpuSeconds, freePort, peakRss, until } from './lib/procs.js';
import { commandStats, round, scriptNames, startMonitor, statsDelta, top, total, usedMemory, type Accounting, type BenchRedis } from './lib/redis.js';
import { memoryBreakdown } from './lib/memory.js';
import { RawHttpConnection, requestHead } from './lib/raw-http.js';
import { API_TOKEN, PREFIX, startApi, startKiraSim, startWorker, type Running } from './lib/stack.js';

const keys = storeKeys(PREFIX);
const TERMINAL = ['verified', 'rejected', 'escalated'] as const;
const APPLICANT = (JSON.parse(readFileSync(new URL('../examples/applicant-kira.json', import.meta.url), 'utf8')) as { applicant: Record<string, unknown> }).applicant;

export interface E2eOptions {
  redis: BenchRedis;
  logDir: string;
  cases: number;
  workers: number;
  /** Onboardings in flight at once (closed loop). */
  inflight: number;
  /** Also: memory breakdown by key kind and a MONITOR accounting pass of `accountingCases`. */
  detail?: { accountingCases: number };
  log(msg: string): void;
}

export interface ProcessFigures { name: string; peakRssBytes: number; cpuMsPerCase: number }

export interface E2eResult {
  cases: number;
  workers: number;
  inflight: number;
  seconds: number;
  decisionsPerSec: number;
  onboardingToDecisionMs: { p50: number; p99: number; max: number };
  outcomes: Record<string, number>;
  /** POST /v1/onboardings answered 503 (Redis slower than the enqueue bound) and was retried. */
  onboardingRetries503: number;
  /** Kira calls that failed (timeout, network, 5xx) and times a worker opened Kira's circuit breaker. */
  providerCallErrors: number;
  circuitOpens: number;
  /** kyc-events jobs retried (an event that arrived before its case was linked to the user waits and retries). */
  eventRetries: number;
  redisCommandsPerCase: number;
  topCommandsPerCase: [string, number][];
  redisMemoryPerCaseBytes: number;
  processes: ProcessFigures[];
  redisCpuMsPerCase: number;
  /** The load generator (this process: onboarding POSTs and the decided-count poll), which shares the cores. */
  driverCpuMsPerCase: number;
  memoryByKind?: { kind: string; keys: number; bytesPerCase: number }[];
  accounting?: AccountingFigures;
}

export interface AccountingFigures {
  cases: number;
  clientCallsPerCase: number;
  luaCommandsPerCase: number;
  topClientCommands: [string, number][];
  topScriptsByCalls: [string, number][];
  topScriptsByLuaCommands: [string, number][];
  topLuaCommands: [string, number][];
}

/** The onboarding body for one externalId: the applicant serialised once, the id spliced in. */
const [BODY_BEFORE, BODY_AFTER] = JSON.stringify({ provider: 'kira', applicant: { ...APPLICANT, externalId: '\u0000' } }).split('"\\u0000"') as [string, string];
const onboardingBody = (externalId: string): string => `${BODY_BEFORE}${JSON.stringify(externalId)}${BODY_AFTER}`;

/** The benchmark's own Redis commands (polling), subtracted from the service's counts. */
type Tally = Map<string, number>;
const count = (t: Tally, cmd: string, n = 1): void => { t.set(cmd, (t.get(cmd) ?? 0) + n); };
function subtract(m: Map<string, number>, own: Tally): Map<string, number> {
  const out = new Map(m);
  for (const [k, v] of own) out.set(k, Math.max(0, (out.get(k) ?? 0) - v));
  return out;
}

async function terminalCount(r: Redis, own: Tally): Promise<number> {
  const p = r.pipeline();
  for (const s of TERMINAL) p.zcard(keys.status(s));
  count(own, 'zcard', TERMINAL.length);
  const res = (await p.exec()) ?? [];
  return res.reduce((a, [, n]) => a + Number(n), 0);
}

/**
 * Closed loop: keeps `inflight` onboardings undecided at once until `cases` are decided. The
 * driver shares the two cores with the processes measured, so it stays cheap: one decided-count
 * poll every 10 ms, and senders that sleep on that poll while the window is full (not on timers
 * of their own: 16 senders polling every 2 ms were 8,000 wake-ups a second).
 */
async function drive(o: { api: string; redis: Redis; cases: number; inflight: number; tag: string; own: Tally; retries: { n: number } }): Promise<string[]> {
  const base = await terminalCount(o.redis, o.own);
  const ids: string[] = [];
  let submitted = 0;
  let decided = 0;
  let failure: Error | undefined;
  let waiting: (() => void)[] = [];
  const wakeAll = (): void => {
    const w = waiting;
    waiting = [];
    for (const wake of w) wake();
  };
  const poll = (async () => {
    while (decided < o.cases && !failure) {
      decided = (await terminalCount(o.redis, o.own)) - base;
      if (submitted - decided < o.inflight) wakeAll();
      await new Promise((r) => setTimeout(r, 10));
    }
    wakeAll();
  })();
  const url = new URL('/v1/onboardings', o.api);
  const head = requestHead('POST', url, { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' });
  const post = async (conn: RawHttpConnection, i: number): Promise<void> => {
    // A 503 (Redis slower than the enqueue bound) is retried as a partner would: same externalId,
    // so a case created before the 503 answers 200 with the same case id.
    for (let attempt = 1; ; attempt++) {
      const res = await conn.request(head, onboardingBody(`${o.tag}-${i}`));
      const body = JSON.parse(res.body) as { caseId?: string };
      if ((res.status === 202 || res.status === 200) && body.caseId) {
        ids.push(body.caseId);
        return;
      }
      if (res.status !== 503 || attempt === 10) throw new Error(`POST /v1/onboardings answered ${res.status}`);
      o.retries.n += 1;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  };
  const poster = async (): Promise<void> => {
    // A raw keep-alive connection per sender (bench/lib/raw-http.ts): the load generator shares the two cores.
    const conn = new RawHttpConnection(url.hostname, Number(url.port));
    try {
      while (submitted < o.cases && !failure) {
        if (submitted - decided >= o.inflight) {
          await new Promise<void>((r) => waiting.push(r));
          continue;
        }
        await post(conn, submitted++).catch((err: unknown) => { failure = err instanceof Error ? err : new Error(String(err)); });
      }
    } finally {
      conn.close();
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, o.inflight) }, poster));
  await poll;
  if (failure) throw failure;
  return ids;
}

/** Onboarding → decision per case: the case's score in its terminal status set minus its creation score. */
async function decisionTimes(r: Redis, ids: string[]): Promise<{ ms: number[]; outcomes: Record<string, number> }> {
  const ms: number[] = [];
  const outcomes: Record<string, number> = {};
  for (let i = 0; i < ids.length; i += 1_000) {
    const chunk = ids.slice(i, i + 1_000);
    const p = r.pipeline();
    p.zmscore(keys.all(), ...chunk);
    for (const s of TERMINAL) p.zmscore(keys.status(s), ...chunk);
    const res = ((await p.exec()) ?? []).map(([, v]) => v as (string | null)[]);
    const [created, ...byStatus] = res;
    chunk.forEach((_, k) => {
      const idx = byStatus.findIndex((scores) => scores[k] !== null);
      if (idx < 0) return;
      outcomes[TERMINAL[idx]!] = (outcomes[TERMINAL[idx]!] ?? 0) + 1;
      ms.push(Number(byStatus[idx]![k]) - Number(created![k]));
    });
  }
  return { ms: ms.sort((a, b) => a - b), outcomes };
}

function sumMetric(text: string, re: RegExp): number {
  let n = 0;
  for (const m of text.matchAll(re)) n += Number(m[1]);
  return n;
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** Waits until no job is waiting, active or delayed on the queues a case goes through. */
async function drained(r: Redis, own: Tally): Promise<void> {
  await until(async () => {
    const p = r.pipeline();
    for (const q of ['kyc-events', 'provider-kira']) {
      p.llen(`${PREFIX}:${q}:wait`).llen(`${PREFIX}:${q}:active`).zcard(`${PREFIX}:${q}:delayed`).zcard(`${PREFIX}:${q}:prioritized`);
    }
    count(own, 'llen', 4);
    count(own, 'zcard', 4);
    return ((await p.exec()) ?? []).every(([, n]) => Number(n) === 0);
  }, 'queues drained', 60_000, 100);
}

export async function benchE2e(o: E2eOptions): Promise<E2eResult> {
  const r = o.redis.admin;
  await r.flushall();
  const apiPort = await freePort();
  const sim = await startKiraSim(o.logDir, `http://127.0.0.1:${apiPort}/webhooks/kira`);
  const env = { redisUrl: o.redis.url, kiraUrl: sim.url, logDir: o.logDir };
  const running: Running[] = [sim];
  try {
    const api = await startApi(env, apiPort);
    running.push(api);
    for (let i = 0; i < o.workers; i++) running.push(await startWorker(env, `worker-${i + 1}`));
    const tag = `bench-${Date.now().toString(36)}`;
    o.log(`e2e (${o.workers} worker${o.workers > 1 ? 's' : ''}): warm-up`);
    await drive({ api: api.url, redis: r, cases: Math.min(200, o.cases), inflight: o.inflight, tag: `${tag}-warm`, own: new Map(), retries: { n: 0 } });
    await drained(r, new Map());
    const mem0 = await usedMemory(r);
    const stats0 = await commandStats(r);
    const cpu0 = running.map((p) => cpuSeconds(p.proc.pid));
    const redisCpu0 = cpuSeconds(o.redis.proc.pid);
    o.log(`e2e (${o.workers} worker${o.workers > 1 ? 's' : ''}): ${o.cases} cases, ${o.inflight} in flight`);
    const own: Tally = new Map();
    const started = performance.now();
    const retries = { n: 0 };
    const driverCpu0 = process.cpuUsage();
    const ids = await drive({ api: api.url, redis: r, cases: o.cases, inflight: o.inflight, tag, own, retries });
    const seconds = (performance.now() - started) / 1000;
    const driverCpu = process.cpuUsage(driverCpu0);
    await drained(r, own);
    const stats = subtract(statsDelta(stats0, await commandStats(r)), own);
    const cpu = running.map((p, i) => cpuSeconds(p.proc.pid) - cpu0[i]!);
    const redisCpu = cpuSeconds(o.redis.proc.pid) - redisCpu0;
    const memory = (await usedMemory(r)) - mem0;
    const { ms, outcomes } = await decisionTimes(r, ids);
    // Each process's own metrics, kept next to its log for diagnosis; failed Kira calls (timeouts)
    // and circuit-breaker openings, which explain a slow run, are summed over the workers.
    const health = { providerCallErrors: 0, circuitOpens: 0, eventRetries: 0 };
    for (const p of running.slice(1)) {
      const text = await (await fetch(`${p.url}/metrics`)).text();
      writeFileSync(join(o.logDir, `${p.proc.name}-${o.workers}w.metrics`), text);
      health.providerCallErrors += sumMetric(text, /^kyc_provider_requests_total\{[^}]*code_class="(?:error|5xx)"[^}]*\} (\d+)/gm);
      health.circuitOpens += sumMetric(text, /^kyc_circuit_transitions_total\{[^}]*to="open"[^}]*\} (\d+)/gm);
      health.eventRetries += sumMetric(text, /^kyc_job_retries_total\{[^}]*queue="kyc-events"[^}]*\} (\d+)/gm);
    }
    const result: E2eResult = {
      cases: o.cases, workers: o.workers, inflight: o.inflight, seconds: round(seconds, 2),
      decisionsPerSec: round(o.cases / seconds, 1),
      onboardingToDecisionMs: { p50: pct(ms, 50), p99: pct(ms, 99), max: ms[ms.length - 1] ?? NaN },
      outcomes,
      onboardingRetries503: retries.n,
      ...health,
      redisCommandsPerCase: round(total(stats) / o.cases, 1),
      topCommandsPerCase: top(stats, 10, o.cases),
      redisMemoryPerCaseBytes: Math.round(memory / o.cases),
      processes: running.map((p, i) => ({ name: p.proc.name, peakRssBytes: peakRss(p.proc.pid), cpuMsPerCase: round((cpu[i]! * 1000) / o.cases, 2) })),
      redisCpuMsPerCase: round((redisCpu * 1000) / o.cases, 2),
      driverCpuMsPerCase: round((driverCpu.user + driverCpu.system) / 1000 / o.cases, 2),
    };
    o.log(`e2e (${o.workers} worker${o.workers > 1 ? 's' : ''}): ${result.decisionsPerSec} decisions/s, p50 ${result.onboardingToDecisionMs.p50} ms, p99 ${result.onboardingToDecisionMs.p99} ms, ${result.redisCommandsPerCase} Redis commands and ${result.redisMemoryPerCaseBytes} B per case`);
    if (o.detail) {
      result.memoryByKind = await memoryBreakdown(r, o.cases + Math.min(200, o.cases));
      result.accounting = await accountingPass({ ...o, api: api.url, cases: o.detail.accountingCases, tag: `${tag}-acc` });
    }
    return result;
  } finally {
    await Promise.all(running.map((p) => p.proc.stop()));
  }
}

/** The same flow under MONITOR (slower, so never timed): client calls vs Lua-internal commands. */
async function accountingPass(o: E2eOptions & { api: string; tag: string }): Promise<AccountingFigures> {
  o.log(`e2e accounting pass under MONITOR: ${o.cases} cases`);
  const names = scriptNames({ 'kyc:createCase': CREATE_CASE, 'kyc:applyTransition': APPLY_TRANSITION, 'kyc:claimDue': CLAIM_DUE, 'kyc:readCase': READ_CASE });
  const monitor = await startMonitor(o.redis.url, names);
  const own: Tally = new Map();
  await drive({ api: o.api, redis: o.redis.admin, cases: o.cases, inflight: o.inflight, tag: o.tag, own, retries: { n: 0 } });
  await drained(o.redis.admin, own);
  const acc: Accounting = await monitor.stop();
  acc.client = subtract(acc.client, own);
  return {
    cases: o.cases,
    clientCallsPerCase: round(total(acc.client) / o.cases, 1),
    luaCommandsPerCase: round(total(acc.luaByCommand) / o.cases, 1),
    topClientCommands: top(acc.client, 8, o.cases),
    topScriptsByCalls: top(acc.scriptCalls, 8, o.cases),
    topScriptsByLuaCommands: top(acc.luaByScript, 8, o.cases),
    topLuaCommands: top(acc.luaByCommand, 8, o.cases),
  };
}
