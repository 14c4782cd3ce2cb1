/**
 * Wealthyhood HTTP client: Auth0 client-credentials token (cached, single-flight refresh), the
 * headers every call carries (`Authorization: Bearer`, `x-user-id` on user-scoped routes), one
 * re-auth + retry on 401, and classification of failures via `providers/errors.ts`.
 */
import { z } from 'zod';
import type { Clock } from '../../lib/clock.js';
import { httpRequest, type FetchFn, type HttpObserver, type HttpResponse } from '../../lib/http.js';
import { nodeFetch } from '../../lib/node-fetch.js';
import {
  classifyStatus,
  classifyThrown,
  RetryableError,
  type ProviderCallError,
} from '../errors.js';
import { DEFAULT_TOKEN_EXPIRES_IN_S, SCOPE_FOR } from './inferred.js';
import { describeWealthyhoodError } from './problems.js';
import { createTokenSource, type IssuedToken } from './token.js';

export const DEFAULT_TIMEOUT_MS = 10_000;

export interface WealthyhoodClientDeps {
  /** API host, e.g. `https://api.sandbox.wealthyhood.com`. */
  baseUrl: string;
  /** Auth0 tenant URL (`/oauth/token` is appended unless already there). */
  authUrl: string;
  clientId: string;
  clientSecret: string;
  audience: string;
  fetch?: FetchFn;
  clock: Clock;
  timeoutMs?: number;
  observe?: HttpObserver;
}

export interface WealthyhoodCall {
  method: 'GET' | 'POST' | 'PATCH';
  /** Path with query, e.g. `/users?email=x`. */
  path: string;
  body?: unknown;
  /** Sent as `x-user-id` (user-scoped routes). */
  userId?: string;
  /** Metrics label, e.g. `create_user`. */
  operation: string;
  signal?: AbortSignal;
}

export interface WealthyhoodClient {
  /** Any HTTP status comes back as a response; network failures and timeouts throw classified. */
  send(call: WealthyhoodCall): Promise<HttpResponse>;
  /** A non-2xx answer → RetryableError | RateLimitedError | PermanentError (no PII in the message). */
  toError(res: HttpResponse, operation: string): ProviderCallError;
}

const TokenBody = z.object({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().positive().optional(),
});

export function isOk(res: HttpResponse): boolean {
  return res.status >= 200 && res.status < 300;
}

export function tokenUrl(authUrl: string): string {
  const base = authUrl.replace(/\/+$/, '');
  return base.endsWith('/oauth/token') ? base : `${base}/oauth/token`;
}

interface Env {
  deps: WealthyhoodClientDeps;
  base: string;
  fetchFn: FetchFn;
  timeoutMs: number;
}

function toError(env: Env, res: HttpResponse, operation: string): ProviderCallError {
  const problem = describeWealthyhoodError(res.json, res.headers.get('www-authenticate'));
  const scope =
    res.status === 403 && SCOPE_FOR[operation] ? ` (needs scope ${SCOPE_FOR[operation]})` : '';
  return classifyStatus(res.status, {
    retryAfter: res.headers.get('retry-after'),
    now: env.deps.clock.now(),
    message: `Wealthyhood ${operation} failed: HTTP ${res.status} ${problem.summary}${scope}`,
    details: problem.details,
  });
}

/** One HTTP exchange; a thrown fetch error or timeout becomes a classified (retryable) error. */
async function exchange(
  env: Env,
  req: {
    method: WealthyhoodCall['method'];
    url: string;
    body?: unknown;
    operation: string;
    signal?: AbortSignal;
  },
  headers: Record<string, string>,
): Promise<HttpResponse> {
  try {
    return await httpRequest(
      env.fetchFn,
      {
        method: req.method,
        url: req.url,
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        operation: req.operation,
        timeoutMs: env.timeoutMs,
        signal: req.signal,
      },
      env.deps.observe,
    );
  } catch (err) {
    throw classifyThrown(err);
  }
}

/** `POST {auth}/oauth/token` with client credentials and the API audience (PROVIDERS.md §3.2). */
async function issueToken(env: Env): Promise<IssuedToken> {
  const { clientId, clientSecret, audience } = env.deps;
  const res = await exchange(
    env,
    {
      method: 'POST',
      url: tokenUrl(env.deps.authUrl),
      body: {
        grant_type: 'client_credentials',
        audience,
        client_id: clientId,
        client_secret: clientSecret,
      },
      operation: 'auth',
    },
    { 'Content-Type': 'application/json', Accept: 'application/json' },
  );
  if (!isOk(res)) throw toError(env, res, 'auth');
  const parsed = TokenBody.safeParse(res.json);
  if (!parsed.success) {
    throw new RetryableError('Wealthyhood auth answered without a usable access token', res.status);
  }
  return {
    accessToken: parsed.data.access_token,
    expiresInS: parsed.data.expires_in ?? DEFAULT_TOKEN_EXPIRES_IN_S,
  };
}

function apiHeaders(call: WealthyhoodCall, token: string): Record<string, string> {
  const headers: Record<string, string> = {
    Authorization: `Bearer ${token}`,
    Accept: 'application/json',
  };
  if (call.body !== undefined) headers['Content-Type'] = 'application/json';
  if (call.userId !== undefined) headers['x-user-id'] = call.userId;
  return headers;
}

export function createWealthyhoodClient(deps: WealthyhoodClientDeps): WealthyhoodClient {
  const env: Env = {
    deps,
    base: deps.baseUrl.replace(/\/+$/, ''),
    fetchFn: deps.fetch ?? nodeFetch,
    timeoutMs: deps.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
  const tokens = createTokenSource({ issue: () => issueToken(env), clock: deps.clock });

  return {
    /** One call; on 401 request a new token once and retry once. */
    async send(call) {
      const req = { ...call, url: `${env.base}${call.path}` };
      const token = await tokens.get();
      const res = await exchange(env, req, apiHeaders(call, token));
      if (res.status !== 401) return res;
      const renewed = await tokens.renew(token);
      return exchange(env, req, apiHeaders(call, renewed));
    },
    toError: (res, operation) => toError(env, res, operation),
  };
}
