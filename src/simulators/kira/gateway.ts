/**
 * The "API gateway" in front of the Kira routes: request log, unknown routes and PATCH (403),
 * injected latency, the per-account token bucket, injected faults, and the two auth layers
 * (`x-api-key` → 403, Bearer → 401). Each step answers the request itself and returns true, or
 * returns false to let it through.
 */
import { roll } from '../shared/faults.js';
import { SimulatorClosedError } from '../shared/tasks.js';
import type { SimContext } from './context.js';
import { send, type SimRequest } from './http.js';
import type { RecordedRequest } from './types.js';

export const SUPPORTED_API_VERSIONS = ['2026-04-14', '2026-06-01'] as const;

const USER = '/v1/users/[^/]+';
const USER_PATH = new RegExp(`^${USER}/?$`);
const ROUTES: ReadonlyArray<{ method: string; re: RegExp }> = [
  { method: 'POST', re: /^\/auth\/?$/ },
  { method: 'POST', re: /^\/v1\/users\/?$/ },
  { method: 'GET', re: /^\/v1\/users\/?$/ },
  { method: 'GET', re: USER_PATH },
  { method: 'PUT', re: USER_PATH },
  { method: 'POST', re: new RegExp(`^${USER}/verifications/?$`) },
];

/** Marks the request as never answered (the client will time out). */
export function hang(r: SimRequest): true {
  if (r.record) r.record.status = 'timeout';
  return true;
}

/** Logs the request; a request the client gives up on while it is unanswered is logged as a timeout. */
export function recordRequest(ctx: SimContext, r: SimRequest): void {
  const key = r.header('idempotency-key');
  const rec: RecordedRequest = { method: r.method, path: r.path, status: 'pending', at: ctx.state.nowIso() };
  if (key !== undefined) rec.idempotencyKey = key;
  ctx.state.requests.push(rec);
  r.record = rec;
  r.res.once('close', () => {
    if (rec.status === 'pending') rec.status = 'timeout';
  });
}

/** API Gateway answers unknown routes and methods with 403, before any auth. */
export function gatewayRoutes(r: SimRequest): boolean {
  if (ROUTES.some((x) => x.method === r.method && x.re.test(r.path))) return false;
  if (r.method === 'PATCH' && USER_PATH.test(r.path)) {
    // Kira's documented trap: PATCH is not routed and the gateway blames the Authorization header.
    send(r, 403, { message: 'Invalid key=value pair (missing equal-sign) in Authorization header' });
    return true;
  }
  send(r, 403, { message: 'Missing Authentication Token' });
  return true;
}

/** Waits out the injected latency; false when the simulator closed meanwhile (nothing to answer). */
export async function injectedLatency(ctx: SimContext): Promise<boolean> {
  const ms = ctx.faults().latency;
  if (!(ms > 0)) return true;
  try {
    await ctx.tasks.sleep(ms);
    return true;
  } catch (err) {
    if (err instanceof SimulatorClosedError) return false;
    throw err;
  }
}

/** 20 req/s, burst 50, per account (keyed by x-api-key), shared by every endpoint. */
export function rateLimit(ctx: SimContext, r: SimRequest): boolean {
  if (!ctx.limiter) return false;
  const wait = ctx.limiter.take(r.header('x-api-key') ?? 'anonymous');
  if (wait === 0) return false;
  send(r, 429, { code: 'rate_limited', message: 'Too many requests' }, { 'retry-after': String(wait) });
  return true;
}

/** `timeout` hangs without committing anything; `error` → 500/503; `ratelimit` → 429. */
export function injectedFaults(ctx: SimContext, r: SimRequest): boolean {
  const f = ctx.faults();
  if (roll(f.timeout, ctx.random)) return hang(r);
  if (roll(f.error, ctx.random)) {
    const status = ctx.random() < 0.5 ? 500 : 503;
    send(r, status, { message: status === 500 ? 'Internal server error' : 'Service Unavailable' });
    return true;
  }
  if (roll(f.ratelimit, ctx.random)) {
    send(r, 429, { code: 'rate_limited', message: 'Too many requests' }, { 'retry-after': '1' });
    return true;
  }
  return false;
}

export function requireApiKey(ctx: SimContext, r: SimRequest): boolean {
  if (r.header('x-api-key') === ctx.apiKey) return false;
  send(r, 403, { message: 'Forbidden' });
  return true;
}

function unauthorized(r: SimRequest, message: string): true {
  send(r, 401, { code: 'unauthorized', message });
  return true;
}

export function requireBearer(ctx: SimContext, r: SimRequest): boolean {
  const header = r.header('authorization');
  if (!header) return unauthorized(r, 'No authorization token provided');
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) return unauthorized(r, 'Invalid authorization header');
  const verdict = ctx.state.checkToken(m[1]!, ctx.apiKey);
  if (verdict === 'expired') return unauthorized(r, 'Token expired');
  if (verdict === 'invalid') return unauthorized(r, 'Invalid token');
  const version = r.header('x-api-version');
  if (version !== undefined && !(SUPPORTED_API_VERSIONS as readonly string[]).includes(version)) {
    send(r, 400, {
      code: 'validation_error',
      message: `Unsupported X-Api-Version "${version}" (supported: ${SUPPORTED_API_VERSIONS.join(', ')})`,
    });
    return true;
  }
  return false;
}
