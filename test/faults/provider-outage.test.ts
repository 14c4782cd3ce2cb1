/**
 * Provider outage and 429 storm, with two worker processes sharing one circuit breaker per
 * provider in Redis. The Kira simulator answers 5xx, then times out, for a while ("a minute",
 * compressed: the outage lasts as many cool-downs as it takes for the breaker to re-open a few
 * times); a counting proxy in front of it records every call and how many were in flight at once.
 *
 * - the circuit opens (kyc_circuit_state 2), the calls made during the outage are bounded by the
 *   first burst plus one probe per cool-down (without a breaker, every job retries on its own),
 *   and while the circuit is open probes go one at a time;
 * - once Kira is back the circuit closes by itself, every case is verified with one Kira user, and
 *   no job failed for good;
 * - a 429 storm never opens the circuit and burns no attempt.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { startKiraSimulator, type KiraSimulator } from '../../src/simulators/kira/index.js';
import { callApi, onboardVia, pool } from '../helpers/client.js';
import { processHarness, processEnv, spawnService, type ServiceProcess } from '../helpers/processes.js';
import { dropPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { applicant, SECRETS } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const { procs, cleanups } = processHarness();

const WORKERS = 2;
const CONCURRENCY = 8;
const THRESHOLD = 5;
const OPEN_FOR_MS = 2_000;
const OPEN_MAX_MS = 4_000;
const PROVIDER_TIMEOUT_MS = 1_000;
const JOB_ATTEMPTS = 20; // PROVIDER_JOB_OPTS.attempts
const BACKOFF_BASE_MS = 1_000; // PROVIDER_JOB_OPTS.backoff.delay

interface Flight { start: number; end?: number }

/** An HTTP proxy in front of the simulator that records when each call started and ended. */
async function countingProxy(target: string): Promise<{ url: string; flights: Flight[]; inFlight(): number; close(): Promise<void> }> {
  const flights: Flight[] = [];
  let inFlight = 0;
  const server: Server = createServer((req, res) => {
    const f: Flight = { start: performance.now() };
    flights.push(f);
    inFlight += 1;
    const up = httpRequest(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.destroy());
    // Ends with the answer, or when the caller gives up (its timeout closes the socket).
    res.on('close', () => {
      f.end = performance.now();
      inFlight -= 1;
      up.destroy();
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    flights,
    inFlight: () => inFlight,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** Largest number of calls in flight at once among those that started within [from, to). */
function maxOverlap(flights: Flight[], from: number, to: number): number {
  const inWindow = flights.filter((f) => f.start >= from && f.start < to);
  let max = 0;
  for (const f of inWindow) max = Math.max(max, inWindow.filter((g) => g.start <= f.start && (g.end === undefined || g.end > f.start)).length);
  return max;
}

/**
 * About how many calls `jobs` jobs make in `ms` without a breaker: each retries on its own after
 * its capped exponential backoff, at most the full delay (base · 2^(n-1)). A control run of this
 * scenario with the breaker disabled (threshold 1000) measured 247 calls in an 18.6 s outage.
 */
function callsWithoutBreaker(jobs: number, ms: number): number {
  let attempts = 1;
  for (let t = 0, n = 1; (t += BACKOFF_BASE_MS * 2 ** (n - 1)) <= ms; n += 1) attempts += 1;
  return jobs * attempts;
}

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) got[l[1]!] = l[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

const metrics = async (p: ServiceProcess) => (await fetch(`${p.url}/metrics`)).text();
/** Summed over the worker processes (each counts what it did itself). */
async function workersSum(ws: ServiceProcess[], name: string, labels: Record<string, string>): Promise<number> {
  const texts = await Promise.all(ws.map(metrics));
  return texts.reduce((s, t) => s + (sample(t, name, labels) ?? 0), 0);
}
/** `kyc_circuit_state` as the api reports it (read from Redis, the state every process shares). */
async function circuitState(api: ServiceProcess): Promise<number | undefined> {
  return sample(await metrics(api), 'kyc_circuit_state', { provider: 'kira' });
}

async function verifiedAmong(api: ServiceProcess, ids: string[]): Promise<number> {
  const want = new Set(ids);
  let n = 0;
  let cursor: string | undefined;
  do {
    const r = await callApi(api.url, `/v1/cases?status=verified&limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    n += (r.body.items as { caseId: string }[]).filter((c) => want.has(c.caseId)).length;
    cursor = r.body.nextCursor ?? undefined;
  } while (cursor);
  return n;
}

function oneUserEach(sim: KiraSimulator, externalIds: string[]): void {
  for (const ext of externalIds) expect(sim.users().filter((u) => u.externalId === ext), ext).toHaveLength(1);
}

describe('provider outage and 429 storm, two workers sharing the circuit breaker', () => {
  it('opens the circuit, probes one call at a time, closes by itself; a 429 storm burns no attempt', async () => {
    const prefix = uniquePrefix();
    const sim = await startKiraSimulator({ apiKey: 'k', clientId: 'c', password: 'p', webhookSecrets: [SECRETS[0]!], verifyDelayMs: 200, autoRejectDelayMs: 200 });
    const proxy = await countingProxy(sim.url);
    cleanups.push(async () => { await proxy.close(); await sim.close(); await dropPrefix(prefix); });
    const env = processEnv({
      redisUrl: REDIS_URL, prefix, kiraUrl: proxy.url, extra: {
        CIRCUIT_FAILURE_THRESHOLD: String(THRESHOLD), CIRCUIT_OPEN_FOR: `${OPEN_FOR_MS}ms`, CIRCUIT_OPEN_MAX: `${OPEN_MAX_MS}ms`,
        PROVIDER_TIMEOUT: `${PROVIDER_TIMEOUT_MS}ms`, WORKER_CONCURRENCY: String(CONCURRENCY), RECONCILE_SCHEDULE: '1h',
      },
    });
    const api = await spawnService('api', env);
    procs.push(api);
    sim.setWebhookUrl(`${api.url}/webhooks/kira`);
    const workers: ServiceProcess[] = [];
    for (let i = 0; i < WORKERS; i += 1) workers.push(await spawnService('worker', env, { ready: true }));
    procs.push(...workers);
    const queue = new Queue('provider-kira', { connection: { url: REDIS_URL }, prefix });
    const events = new Queue('kyc-events', { connection: { url: REDIS_URL }, prefix });
    cleanups.push(async () => { await queue.close(); await events.close(); });
    const opened = () => workersSum(workers, 'kyc_circuit_transitions_total', { provider: 'kira', to: 'open' });
    // Kira works at first (the workers hold access tokens), then goes down.
    const warmup = Array.from({ length: 6 }, () => applicant());
    const warmupIds = await pool(warmup, 6, (a) => onboardVia(api.url, a));
    await waitFor(async () => (await verifiedAmong(api, warmupIds)) === warmup.length, { timeoutMs: 30_000, what: 'the warm-up cases verified' });
    expect(await circuitState(api)).toBe(0);

    // --- Outage: 5xx for every call, onboardings keep coming in.
    sim.setFaults({ error: 1 });
    const outageStart = performance.now();
    const people = Array.from({ length: 50 }, () => applicant());
    const ids = await pool(people, 10, (a) => onboardVia(api.url, a));
    await waitFor(async () => (await circuitState(api)) === 2, { timeoutMs: 20_000, what: 'the circuit to open' });
    // The first burst (calls admitted while closed) drains; from then on only probes may go out.
    await waitFor(() => proxy.inFlight() === 0, { timeoutMs: 10_000, what: 'the first burst to end' });
    const quietFrom = performance.now();
    // Two failed 5xx probes, then Kira hangs instead (each probe waits PROVIDER_TIMEOUT): two more.
    await waitFor(async () => (await opened()) >= 3, { timeoutMs: 30_000, intervalMs: 100, what: 'two failed probes (5xx)' });
    sim.setFaults({ error: 0, timeout: 1 });
    await waitFor(async () => (await opened()) >= 5, { timeoutMs: 40_000, intervalMs: 100, what: 'two failed probes (timeouts)' });
    const outageEnd = performance.now();
    sim.setFaults({ timeout: 0 });

    const outageMs = outageEnd - outageStart;
    const duringOutage = proxy.flights.filter((f) => f.start >= outageStart && f.start < outageEnd).length;
    const probes = await workersSum(workers, 'kyc_circuit_transitions_total', { provider: 'kira', to: 'half_open' });
    // Bound: every job slot of both workers in the first burst (and once more, for jobs fetched
    // while the opening was being written), then one call per probe.
    const bound = 2 * WORKERS * CONCURRENCY + probes;
    const without = callsWithoutBreaker(people.length, outageMs);
    expect(probes).toBeGreaterThanOrEqual(4);
    expect(duringOutage).toBeLessThanOrEqual(bound);
    expect(duringOutage * 4).toBeLessThan(without);
    // While open: never two calls at once (the timed-out probes each held their call 1 s).
    expect(maxOverlap(proxy.flights, quietFrom, outageEnd)).toBe(1);
    const probeCalls = proxy.flights.filter((f) => f.start >= quietFrom && f.start < outageEnd).length;
    expect(probeCalls).toBeGreaterThanOrEqual(3);
    expect(probeCalls).toBeLessThanOrEqual(probes);
    expect(await workersSum(workers, 'kyc_circuit_rejected_total', { provider: 'kira' })).toBeGreaterThan(0);

    // --- Kira is back: the next probe closes the circuit and the backlog drains.
    await waitFor(async () => (await circuitState(api)) === 0, { timeoutMs: 20_000, intervalMs: 50, what: 'the circuit to close by itself' });
    const closedAfterMs = performance.now() - outageEnd;
    await waitFor(async () => (await verifiedAmong(api, ids)) === ids.length, { timeoutMs: 60_000, intervalMs: 200, what: 'every case verified' });
    const verifiedAfterMs = performance.now() - outageEnd;
    oneUserEach(sim, people.map((a) => a.externalId as string));
    expect(sim.users()).toHaveLength(warmup.length + people.length);
    expect(await workersSum(workers, 'kyc_circuit_transitions_total', { provider: 'kira', to: 'closed' })).toBeGreaterThanOrEqual(1);
    const outageJobs = await Promise.all(ids.map((id) => queue.getJob(`create-${id}-0`)));
    for (const j of outageJobs) {
      expect(j?.returnvalue).toMatch(/^(created|adopted)$/);
      expect(j!.attemptsMade).toBeLessThan(JOB_ATTEMPTS);
    }
    const maxAttempts = Math.max(...outageJobs.map((j) => j!.attemptsMade));

    // --- 429 storm: every call answered 429 for a while; the circuit stays closed.
    const opensBefore = await opened();
    const limited = () => sim.requests().filter((r) => r.status === 429).length;
    const limitedBefore = limited();
    sim.setFaults({ ratelimit: 1 });
    const storm = Array.from({ length: 30 }, () => applicant());
    const stormIds = await pool(storm, 10, (a) => onboardVia(api.url, a));
    await waitFor(() => limited() - limitedBefore >= 60, { timeoutMs: 30_000, what: '60 answers 429' });
    expect(await circuitState(api)).toBe(0);
    sim.setFaults({ ratelimit: 0 });
    await waitFor(async () => (await verifiedAmong(api, stormIds)) === stormIds.length, { timeoutMs: 60_000, intervalMs: 200, what: 'every storm case verified' });
    oneUserEach(sim, storm.map((a) => a.externalId as string));
    expect(await opened()).toBe(opensBefore);
    for (const id of stormIds) {
      const j = await queue.getJob(`create-${id}-0`);
      expect(j?.returnvalue).toBe('created');
      expect(j!.attemptsMade).toBeLessThanOrEqual(1); // the successful run only: no 429 burnt one
    }
    for (const q of [queue, events]) expect(await q.getJobCounts('failed')).toEqual({ failed: 0 });

    process.stdout.write(
      `provider-outage: outage ${Math.round(outageMs)} ms, ${duringOutage} calls at Kira during it (bound ${bound}; ` +
        `without a breaker about ${without}), ${probes} probes, max ${maxAttempts} attempts used by a create job; ` +
        `circuit closed ${Math.round(closedAfterMs)} ms and all ${ids.length} cases verified ${Math.round(verifiedAfterMs)} ms after Kira recovered; ` +
        `429 storm: ${limited() - limitedBefore} answers 429, ${stormIds.length} cases verified, 0 attempts burnt\n`,
    );
  });
});
