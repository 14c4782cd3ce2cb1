/**
 * Middleware in front of the Wealthyhood routes: request log, unknown routes (404), injected
 * latency, the optional token bucket, injected faults, Bearer + scope checks (Auth0-protected API:
 * reasons in `WWW-Authenticate`), and the `x-user-id` check of user-scoped routes.
 */
import type { RequestHandler, Response } from 'express';
import { roll } from '../shared/faults.js';
import { SimulatorClosedError } from '../shared/tasks.js';
import type { SimContext } from './context.js';
import type { RecordedRequest, SimUser } from './types.js';

const OBJECT_ID = /^[a-f0-9]{24}$/;

/** Marks the request as never answered (the client will time out). */
export function hang(res: Response): void {
  const rec = res.locals.record as RecordedRequest | undefined;
  if (rec) rec.status = 'timeout';
}

export function recordRequests(ctx: SimContext): RequestHandler {
  return (req, res, next) => {
    const rec: RecordedRequest = {
      method: req.method,
      path: req.path,
      status: 'pending',
      at: ctx.state.nowIso(),
    };
    const q = req.originalUrl.indexOf('?');
    if (q >= 0) rec.query = req.originalUrl.slice(q + 1);
    const userId = req.get('x-user-id');
    if (userId !== undefined) rec.userId = userId;
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

export function routeKnown(ctx: SimContext): RequestHandler {
  const routes: Array<{ method: string; re: RegExp }> = [
    { method: 'POST', re: /^\/oauth\/token\/?$/ },
    { method: 'POST', re: /^\/users\/?$/ },
    { method: 'GET', re: /^\/users\/me\/?$/ },
    { method: 'PATCH', re: /^\/users\/me\/employment-info\/?$/ },
    ...(ctx.emailLookup ? [{ method: 'GET', re: /^\/users\/?$/ }] : []),
  ];
  return (req, res, next) => {
    if (routes.some((r) => r.method === req.method && r.re.test(req.path))) return next();
    res
      .status(404)
      .json({ statusCode: 404, error: 'Not Found', message: `Cannot ${req.method} ${req.path}` });
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

const tooMany = (res: Response, seconds: number): void => {
  res
    .set('Retry-After', String(seconds))
    .status(429)
    .json({ statusCode: 429, message: 'Too Many Requests' });
};

export function rateLimit(ctx: SimContext): RequestHandler {
  return (_req, res, next) => {
    const wait = ctx.limiter?.take(ctx.clientId) ?? 0;
    if (wait === 0) return next();
    tooMany(res, wait);
  };
}

/** `timeout` hangs without committing anything; `error` → 500/503; `ratelimit` → 429. */
export function injectedFaults(ctx: SimContext): RequestHandler {
  return (_req, res, next) => {
    const f = ctx.faults();
    if (roll(f.timeout, ctx.random)) return hang(res);
    if (roll(f.error, ctx.random)) {
      const status = ctx.random() < 0.5 ? 500 : 503;
      res.status(status).json({
        statusCode: status,
        message: status === 500 ? 'Internal server error' : 'Service Unavailable',
      });
      return;
    }
    if (roll(f.ratelimit, ctx.random)) return tooMany(res, 1);
    next();
  };
}

function bearerError(res: Response, status: 401 | 403, auth: string, message: string): void {
  res
    .set('WWW-Authenticate', `Bearer realm="api"${auth}`)
    .status(status)
    .json({ statusCode: status, message });
}

/** Bearer token issued by `/oauth/token`, not expired, carrying `scope`. */
export function requireScope(ctx: SimContext, scope: string): RequestHandler {
  return (req, res, next) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    if (!m) return bearerError(res, 401, '', 'Unauthorized');
    const t = ctx.state.checkToken(m[1]!);
    if (t === 'invalid') {
      return bearerError(
        res,
        401,
        ', error="invalid_token", error_description="Invalid token"',
        'Unauthorized',
      );
    }
    if (t === 'expired') {
      return bearerError(
        res,
        401,
        ', error="invalid_token", error_description="The access token expired"',
        'Unauthorized',
      );
    }
    if (!t.scopes.includes(scope)) {
      const auth = `, error="insufficient_scope", error_description="Insufficient Scope", scope="${scope}"`;
      return bearerError(res, 403, auth, 'Insufficient scope');
    }
    next();
  };
}

/** User-scoped routes: `x-user-id` must be a 24-hex ObjectId of an existing user. */
export function requireUser(ctx: SimContext): RequestHandler {
  return (req, res, next) => {
    const id = req.get('x-user-id');
    if (id === undefined || id === '') {
      res
        .status(400)
        .json({ statusCode: 400, error: 'Bad Request', message: 'x-user-id header is required' });
      return;
    }
    if (!OBJECT_ID.test(id)) {
      res.status(400).json({
        statusCode: 400,
        error: 'Bad Request',
        message: 'x-user-id must match ^[a-f0-9]{24}$',
      });
      return;
    }
    const user = ctx.state.users.get(id);
    if (!user) {
      return void res
        .status(404)
        .json({ statusCode: 404, error: 'Not Found', message: 'User not found' });
    }
    res.locals.user = user;
    next();
  };
}

export function userOf(res: Response): SimUser {
  return res.locals.user as SimUser;
}
