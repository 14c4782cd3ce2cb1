/**
 * The "API gateway" in front of the Kira routes: request log, unknown routes and PATCH (403),
 * injected latency, the per-account token bucket, injected faults, and the two auth layers
 * (`x-api-key` → 403, Bearer → 401).
 */
import type { Request, RequestHandler, Response } from 'express';
import { roll } from '../shared/faults.js';
import { SimulatorClosedError } from '../shared/tasks.js';
import type { SimContext } from './context.js';
import type { RecordedRequest } from './types.js';

export const SUPPORTED_API_VERSIONS = ['2026-04-14', '2026-06-01'] as const;

const USER = '/v1/users/[^/]+';
const ROUTES: ReadonlyArray<{ method: string; re: RegExp }> = [
  { method: 'POST', re: /^\/auth\/?$/ },
  { method: 'POST', re: /^\/v1\/users\/?$/ },
  { method: 'GET', re: /^\/v1\/users\/?$/ },
  { method: 'GET', re: new RegExp(`^${USER}/?$`) },
  { method: 'PUT', re: new RegExp(`^${USER}/?$`) },
  { method: 'POST', re: new RegExp(`^${USER}/verifications/?$`) },
];

/** Marks the request as never answered (the client will time out). */
export function hang(res: Response): void {
  const rec = res.locals.record as RecordedRequest | undefined;
  if (rec) rec.status = 'timeout';
}

export function recordRequests(ctx: SimContext): RequestHandler {
  return (req, res, next) => {
    const key = req.get('idempotency-key');
    const rec: RecordedRequest = {
      method: req.method,
      path: req.path,
      status: 'pending',
      at: ctx.state.nowIso(),
    };
    if (key !== undefined) rec.idempotencyKey = key;
    ctx.state.requests.push(rec);
    res.locals.record = rec;
    res.on('finish', () => {
      rec.status = res.statusCode;
    });
    res.on('close', () => {
      if (rec.status === 'pending') rec.status = 'timeout';
    });
    next();
  };
}

/** API Gateway answers unknown routes and methods with 403, before any auth. */
export function gatewayRoutes(): RequestHandler {
  return (req, res, next) => {
    if (ROUTES.some((r) => r.method === req.method && r.re.test(req.path))) return next();
    if (req.method === 'PATCH' && new RegExp(`^${USER}/?$`).test(req.path)) {
      // Kira's documented trap: PATCH is not routed and the gateway blames the Authorization header.
      res
        .status(403)
        .json({ message: 'Invalid key=value pair (missing equal-sign) in Authorization header' });
      return;
    }
    res.status(403).json({ message: 'Missing Authentication Token' });
  };
}

export function injectedLatency(ctx: SimContext): RequestHandler {
  return async (_req, _res, next) => {
    try {
      await ctx.tasks.sleep(ctx.faults().latency);
    } catch (err) {
      if (err instanceof SimulatorClosedError) return;
      throw err;
    }
    next();
  };
}

/** 20 req/s, burst 50, per account (keyed by x-api-key), shared by every endpoint. */
export function rateLimit(ctx: SimContext): RequestHandler {
  return (req, res, next) => {
    if (!ctx.limiter) return next();
    const wait = ctx.limiter.take(req.get('x-api-key') ?? 'anonymous');
    if (wait === 0) return next();
    res
      .set('Retry-After', String(wait))
      .status(429)
      .json({ code: 'rate_limited', message: 'Too many requests' });
  };
}

/** `timeout` hangs without committing anything; `error` → 500/503; `ratelimit` → 429. */
export function injectedFaults(ctx: SimContext): RequestHandler {
  return (_req, res, next) => {
    const f = ctx.faults();
    if (roll(f.timeout, ctx.random)) return hang(res);
    if (roll(f.error, ctx.random)) {
      const status = ctx.random() < 0.5 ? 500 : 503;
      res
        .status(status)
        .json({ message: status === 500 ? 'Internal server error' : 'Service Unavailable' });
      return;
    }
    if (roll(f.ratelimit, ctx.random)) {
      res
        .set('Retry-After', '1')
        .status(429)
        .json({ code: 'rate_limited', message: 'Too many requests' });
      return;
    }
    next();
  };
}

export function requireApiKey(ctx: SimContext): RequestHandler {
  return (req, res, next) => {
    if (req.get('x-api-key') === ctx.apiKey) return next();
    res.status(403).json({ message: 'Forbidden' });
  };
}

function unauthorized(res: Response, message: string): void {
  res.status(401).json({ code: 'unauthorized', message });
}

export function requireBearer(ctx: SimContext): RequestHandler {
  return (req: Request, res, next) => {
    const header = req.get('authorization');
    if (!header) return unauthorized(res, 'No authorization token provided');
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) return unauthorized(res, 'Invalid authorization header');
    const verdict = ctx.state.checkToken(m[1]!, ctx.apiKey);
    if (verdict === 'expired') return unauthorized(res, 'Token expired');
    if (verdict === 'invalid') return unauthorized(res, 'Invalid token');
    const version = req.get('x-api-version');
    if (version !== undefined && !(SUPPORTED_API_VERSIONS as readonly string[]).includes(version)) {
      res.status(400).json({
        code: 'validation_error',
        message: `Unsupported X-Api-Version "${version}" (supported: ${SUPPORTED_API_VERSIONS.join(', ')})`,
      });
      return;
    }
    next();
  };
}
