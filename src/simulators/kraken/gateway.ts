/**
 * The gateway in front of the Kraken Embed routes: request log, unknown routes (404), injected
 * latency, optional rate limit, injected faults, then authentication exactly as PROVIDERS.md §1.3
 * and rules 1–3 describe: `API-Sign` recomputed over the raw request bytes and the path + query as
 * received, the nonce greater than the last one of the API key, `Payward-Version` / `Kraken-Version`.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { roll } from '../shared/faults.js';
import { SimulatorClosedError } from '../shared/tasks.js';
import type { SimContext } from './context.js';
import type { AuthFailure, RecordedRequest } from './types.js';
import { krakenError } from './validation.js';

export const API_VERSION = '2025-04-15';
const MAX_U64 = 2n ** 64n - 1n;
const USER = /^\/b2b\/users\/[^/]+\/?$/;
const WEBHOOKS = /^\/b2b\/webhooks\/?$/;
const WEBHOOK = /^\/b2b\/webhooks\/[^/]+\/?$/;
const ROUTES: ReadonlyArray<{ method: string; re: RegExp }> = [
  { method: 'POST', re: /^\/b2b\/users\/?$/ },
  { method: 'GET', re: USER },
  { method: 'PATCH', re: USER },
  { method: 'POST', re: /^\/b2b\/verifications\/[^/]+\/?$/ },
  { method: 'POST', re: WEBHOOKS },
  { method: 'GET', re: WEBHOOKS },
  { method: 'PATCH', re: WEBHOOK },
  { method: 'DELETE', re: WEBHOOK },
  { method: 'POST', re: /^\/b2b\/webhooks\/[^/]+\/test\/?$/ },
];

export function record(res: Response): RecordedRequest | undefined {
  return res.locals.record as RecordedRequest | undefined;
}

/** Marks the request as never answered (the client will time out). */
export function hang(res: Response): void {
  const rec = record(res);
  if (rec) rec.status = 'timeout';
}

export function recordRequests(ctx: SimContext): RequestHandler {
  return (req, res, next) => {
    const rec: RecordedRequest = {
      method: req.method,
      path: req.originalUrl,
      status: 'pending',
      at: ctx.state.nowIso(),
    };
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

export function knownRoutes(): RequestHandler {
  return (req, res, next) => {
    if (ROUTES.some((r) => r.method === req.method && r.re.test(req.path))) return next();
    res.status(404).json(krakenError('EGeneral:Unknown method'));
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

export function rateLimit(ctx: SimContext): RequestHandler {
  return (req, res, next) => {
    if (!ctx.limiter) return next();
    const wait = ctx.limiter.take(req.get('api-key') ?? 'anonymous');
    if (wait === 0) return next();
    res.set('Retry-After', String(wait)).status(429).json(krakenError('EAPI:Rate limit exceeded'));
  };
}

/**
 * `timeout` hangs without committing anything; `requestTimeout` → 408; `error` → 500/503;
 * `ratelimit` → 429 (rule 7). None of them commits anything.
 */
export function injectedFaults(ctx: SimContext): RequestHandler {
  return (_req, res, next) => {
    const f = ctx.faults();
    if (roll(f.timeout, ctx.random)) return hang(res);
    if (roll(f.requestTimeout, ctx.random)) {
      res.status(408).json(krakenError('EGeneral:Request timeout'));
      return;
    }
    if (roll(f.error, ctx.random)) {
      const status = ctx.random() < 0.5 ? 500 : 503;
      res
        .status(status)
        .json(krakenError(status === 500 ? 'EGeneral:Internal error' : 'EService:Unavailable'));
      return;
    }
    if (roll(f.ratelimit, ctx.random)) {
      res.set('Retry-After', '1').status(429).json(krakenError('EAPI:Rate limit exceeded'));
      return;
    }
    next();
  };
}

export function rawBody(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

/** The signature the request should carry: over the path + query as received and the raw bytes. */
export function expectedSign(
  secret: string,
  pathWithQuery: string,
  nonce: string,
  body: Buffer,
): Buffer {
  const digest = createHash('sha256')
    .update(Buffer.concat([Buffer.from(nonce), body]))
    .digest();
  return createHmac('sha512', Buffer.from(secret, 'base64'))
    .update(Buffer.concat([Buffer.from(pathWithQuery), digest]))
    .digest();
}

function checkAuth(
  ctx: SimContext,
  req: Request,
): { failure: AuthFailure; code: string } | undefined {
  const key = req.get('api-key');
  const nonce = req.get('api-nonce');
  const sign = req.get('api-sign');
  if (!key || !nonce || !sign) return { failure: 'missing_headers', code: 'EAPI:Invalid key' };
  if (key !== ctx.apiKey) return { failure: 'invalid_key', code: 'EAPI:Invalid key' };
  if (!/^\d{1,20}$/.test(nonce) || BigInt(nonce) > MAX_U64) {
    return { failure: 'invalid_nonce', code: 'EAPI:Invalid nonce' };
  }
  const expected = expectedSign(ctx.apiSecret, req.originalUrl, nonce, rawBody(req));
  const given = Buffer.from(sign, 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { failure: 'invalid_signature', code: 'EAPI:Invalid signature' };
  }
  // Only a correctly signed request consumes its nonce.
  if (!ctx.state.acceptNonce(key, BigInt(nonce))) {
    return { failure: 'invalid_nonce', code: 'EAPI:Invalid nonce' };
  }
  return undefined;
}

/** 401 unless `API-Key`, `API-Nonce` and `API-Sign` are all right (rules 1–2). */
export function authenticate(ctx: SimContext): RequestHandler {
  return (req, res, next) => {
    const rec = record(res);
    const nonce = req.get('api-nonce');
    if (rec && nonce !== undefined) rec.nonce = nonce;
    const refused = checkAuth(ctx, req);
    if (!refused) return next();
    if (rec) rec.authFailure = refused.failure;
    res.status(401).json(krakenError(refused.code));
  };
}

/** `Payward-Version` (API reference) or `Kraken-Version` (auth guide); absent = the latest (rule 3). */
export function apiVersion(): RequestHandler {
  return (req, res, next) => {
    for (const name of ['payward-version', 'kraken-version']) {
      const v = req.get(name);
      if (v !== undefined && v !== API_VERSION) {
        res
          .status(400)
          .json(
            krakenError(
              `EGeneral:Invalid arguments:${name === 'payward-version' ? 'Payward-Version' : 'Kraken-Version'}`,
            ),
          );
        return;
      }
    }
    next();
  };
}
