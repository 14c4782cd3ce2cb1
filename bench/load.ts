/**
 * Load generator (its own process): signed Kira webhooks, each with a unique event id, to one
 * receiver. Input in BENCH_INPUT (JSON); answers with one JSON line on stdout.
 *
 * - As fast as the receiver answers: autocannon, `connections` keep-alive connections.
 * - At a fixed rate: an open-loop, evenly paced sender (one request every 1/rate s, over at most
 *   `connections` keep-alive sockets). Not autocannon's `overallRate`: that sends each
 *   connection's share of a second as one burst at the start of the second, which measures a
 *   32-deep burst every second rather than a steady rate. Requests that fall due while every
 *   socket is busy wait in a queue, and that wait counts in their latency. The requests go as
 *   prepared bytes over raw keep-alive sockets (lib/raw-http.ts, as the end-to-end driver
 *   sends): node:http's client cost ~300 µs of this process's CPU per request, on the cores
 *   the receiver shares, about as much as the receiver's own work.
 *
 * Latencies are taken per 2xx response (float ms), not from autocannon's 1 ms histogram.
 */
import autocannon, { type Result } from 'autocannon';
import { signedKiraRequest } from './lib/kira-body.js';
import { RawHttpConnection, requestHead } from './lib/raw-http.js';

export interface LoadInput {
  url: string;
  path: string;
  connections: number;
  durationS: number;
  /** Fixed total request rate (paced); unset = as fast as the receiver answers (autocannon). */
  overallRate?: number;
  secret: string;
  /** Event ids are `<idPrefix>-<n>`: unique across rounds when every round has its own prefix. */
  idPrefix: string;
}

export interface LoadResult {
  requests: number;
  ok: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** CPU time of this load generator per request (µs): the same for both receivers. */
  loadCpuUsPerRequest: number;
}

interface Signed { body: Buffer; headers: Record<string, string> }

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summarise(latencies: number[], r: { requests: number; seconds: number; errors: number; statusCodes: Record<string, number> }, cpuUs: number): LoadResult {
  const sorted = Float64Array.from(latencies).sort();
  const non2xx = Object.entries(r.statusCodes).filter(([k]) => !k.startsWith('2')).reduce((a, [, v]) => a + v, 0);
  return {
    requests: r.requests, ok: latencies.length, rps: latencies.length / r.seconds,
    p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN,
    errors: r.errors, non2xx, statusCodes: r.statusCodes, loadCpuUsPerRequest: cpuUs / Math.max(1, r.requests),
  };
}

async function saturate(input: LoadInput, next: () => Signed): Promise<LoadResult> {
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const result = await new Promise<Result>((resolve, reject) => {
    const inst = autocannon({
      url: input.url, connections: input.connections, duration: input.durationS, timeout: 10,
      requests: [{ method: 'POST', path: input.path, setupRequest: (req) => ({ ...req, ...next() }) }],
    }, (err, res) => (err ? reject(err) : resolve(res)));
    inst.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
  const used = process.cpuUsage(cpu);
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([k, v]) => [k, v.count]));
  return summarise(latencies, { requests: result.requests.total, seconds: result.duration, errors: result.errors + result.timeouts, statusCodes }, used.user + used.system);
}

async function paced(input: LoadInput, rate: number, next: () => Signed): Promise<LoadResult> {
  const target = new URL(input.path, input.url);
  const idle: RawHttpConnection[] = [];
  const all: RawHttpConnection[] = [];
  const due: { head: string; body: string; t0: number }[] = [];
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let errors = 0;
  let sent = 0;
  let inFlight = 0;
  const total = Math.round(rate * input.durationS);
  const cpu = process.cpuUsage();
  const started = performance.now();
  // At most `connections` sockets, one request at a time each; a request due while all are busy waits.
  const run = (conn: RawHttpConnection): void => {
    const r = due.shift();
    if (!r) {
      idle.push(conn);
      return;
    }
    conn.request(r.head, r.body).then((answer) => {
      const code = String(answer.status);
      statusCodes[code] = (statusCodes[code] ?? 0) + 1;
      if (code.startsWith('2')) latencies.push(performance.now() - r.t0);
    }, () => { errors += 1; }).finally(() => {
      inFlight -= 1;
      run(conn);
    });
  };
  const send = (): void => {
    const { body, headers } = next();
    inFlight += 1;
    due.push({ head: requestHead('POST', target, headers), body: body.toString('utf8'), t0: performance.now() });
    let conn = idle.pop();
    if (!conn && all.length < input.connections) {
      conn = new RawHttpConnection(target.hostname, Number(target.port || 80));
      all.push(conn);
    }
    if (conn) run(conn);
  };
  await new Promise<void>((resolve) => {
    // A 1 ms timer (not a busy loop, which would take a core from the receiver on this machine):
    // each tick sends every request whose time has come.
    const tick = (): void => {
      const now = performance.now();
      while (sent < total && started + (sent * 1000) / rate <= now) {
        sent += 1;
        send();
      }
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const deadline = performance.now() + 10_000;
  while (inFlight > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const used = process.cpuUsage(cpu);
  for (const c of all) c.close();
  return summarise(latencies, { requests: sent, seconds: input.durationS, errors: errors + inFlight, statusCodes }, used.user + used.system);
}

async function main(): Promise<void> {
  const input = JSON.parse(process.env.BENCH_INPUT ?? '{}') as LoadInput;
  // Signed before the clock starts, so that signing is not load-generator work in the timed run
  // (it would be the same for both receivers, but it would make the generator the bottleneck).
  const pool: Signed[] = Array.from({ length: Math.ceil((input.overallRate ?? 6_000) * input.durationS * 1.2) }, (_, i) => {
    const r = signedKiraRequest(`${input.idPrefix}-${i}`, input.secret);
    return { body: Buffer.from(r.body), headers: r.headers };
  });
  let n = 0;
  const next = (): Signed => {
    const i = n++;
    if (pool[i]) return pool[i];
    const r = signedKiraRequest(`${input.idPrefix}-${i}`, input.secret);
    return { body: Buffer.from(r.body), headers: r.headers };
  };
  const out = input.overallRate ? await paced(input, input.overallRate, next) : await saturate(input, next);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`load: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
