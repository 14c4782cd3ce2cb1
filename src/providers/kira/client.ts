/**
 * Kira HTTP client: `POST /auth` token (cached, single-flight refresh), the headers every call
 * carries, one re-auth + retry on 401, and classification of failures via `providers/errors.ts`.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import type { Clock } from '../../lib/clock.js';
import { httpRequest, type FetchFn, type HttpObserver, type HttpResponse } from '../../lib/http.js';
import { nodeFetch } from '../../lib/node-fetch.js';
import {
  classifyStatus,
  classifyThrown,
  parseRetryAfter,
  RetryableError,
  type ProviderCallError,
} from '../errors.js';
import { describeKiraError } from './problems.js';
import { createTokenSource, type IssuedToken } from './token.js';

export const KIRA_API_VERSION = '2026-04-14';
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface KiraClientDeps {
  baseUrl: string;
  apiKey: string;
  clientId: string;
  password: string;
  fetch?: FetchFn;
  clock: Clock;
  timeoutMs?: number;
  observe?: HttpObserver;
  /** A 429 whose Retry-After is at most this long is waited out and retried once (default 0: never). */
  maxRateLimitWaitMs?: number;
}

export interface KiraCall {
  method: 'GET' | 'POST' | 'PUT';
  /** Path with query, e.g. `/v1/users?external_id=x&limit=1`. */
  path: string;
  body?: unknown;
  idempotencyKey?: string;
  /** Metrics label, e.g. `create_user`. */
  operation: string;
  signal?: AbortSignal;
}

export interface KiraClient {
  /** Any HTTP status comes back as a response; network failures and timeouts throw classified. */
  send(call: KiraCall): Promise<HttpResponse>;
  /** A non-2xx answer → RetryableError | RateLimitedError | PermanentError (no PII in the message). */
  toError(res: HttpResponse, operation: string): ProviderCallError;
}

const AuthBody = z.object({
  data: z.object({
    access_token: z.string().min(1),
    expires_in: z.coerce.number().positive().optional(),
  }),
});

const DEFAULT_EXPIRES_IN_S = 3600;

export function isOk(res: HttpResponse): boolean {
  return res.status >= 200 && res.status < 300;
}

interface Env {
  deps: KiraClientDeps;
  base: string;
  fetchFn: FetchFn;
  timeoutMs: number;
}

function toError(env: Env, res: HttpResponse, operation: string): ProviderCallError {
  const problem = describeKiraError(res.json);
  return classifyStatus(res.status, {
    retryAfter: res.headers.get('retry-after'),
    now: env.deps.clock.now(),
    message: `Kira ${operation} failed: HTTP ${res.status} ${problem.summary}`,
    details: problem.details,
  });
}

/** One HTTP exchange; a thrown fetch error or timeout becomes a classified (retryable) error. */
async function exchange(
  env: Env,
  call: KiraCall,
  headers: Record<string, string>,
): Promise<HttpResponse> {
  try {
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);
    return await httpRequest(
      env.fetchFn,
      {
        method: call.method,
        url: `${env.base}${call.path}`,
        headers,
        body,
        operation: call.operation,
        timeoutMs: env.timeoutMs,
        signal: call.signal,
      },
      env.deps.observe,
    );
  } catch (err) {
    throw classifyThrown(err);
  }
}

/** `POST /auth` (no `/v1`): `x-api-key` plus client credentials → `data.access_token`. */
async function issueToken(env: Env): Promise<IssuedToken> {
  const { apiKey, clientId, password } = env.deps;
  const res = await exchange(
    env,
    { method: 'POST', path: '/auth', body: { client_id: clientId, password }, operation: 'auth' },
    { 'x-api-key': apiKey, 'Content-Type': 'application/json', Accept: 'application/json' },
  );
  if (!isOk(res)) throw toError(env, res, 'auth');
  const parsed = AuthBody.safeParse(res.json);
  if (!parsed.success) {
    throw new RetryableError('Kira auth answered without a usable access token', res.status);
  }
  return {
    accessToken: parsed.data.data.access_token,
    expiresInS: parsed.data.data.expires_in ?? DEFAULT_EXPIRES_IN_S,
  };
}

function apiHeaders(env: Env, call: KiraCall, token: string): Record<string, string> {
  const headers: Record<string, string> = {
    'x-api-key': env.deps.apiKey,
    Authorization: `Bearer ${token}`,
    'X-Api-Version': KIRA_API_VERSION,
    Accept: 'application/json',
  };
  if (call.method !== 'GET') headers['Content-Type'] = 'application/json';
  if (call.idempotencyKey !== undefined) headers['Idempotency-Key'] = call.idempotencyKey;
  return headers;
}

/** How long to wait out a 429 in-process, or undefined to surface it as RateLimitedError. */
function rateLimitWait(env: Env, res: HttpResponse): number | undefined {
  const maxWait = env.deps.maxRateLimitWaitMs ?? 0;
  if (res.status !== 429 || maxWait <= 0) return undefined;
  const ms = parseRetryAfter(res.headers.get('retry-after'), env.deps.clock.now());
  return ms <= maxWait ? ms : undefined;
}

export function createKiraClient(deps: KiraClientDeps): KiraClient {
  const env: Env = {
    deps,
    base: deps.baseUrl.replace(/\/+$/, ''),
    fetchFn: deps.fetch ?? nodeFetch,
    timeoutMs: deps.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
  const tokens = createTokenSource({ issue: () => issueToken(env), clock: deps.clock });

  /** One call; on 401 re-authenticate once and retry once (PROVIDERS.md §2.2). */
  const sendAuthed = async (call: KiraCall): Promise<HttpResponse> => {
    const token = await tokens.get();
    const res = await exchange(env, call, apiHeaders(env, call, token));
    if (res.status !== 401) return res;
    const renewed = await tokens.renew(token);
    return exchange(env, call, apiHeaders(env, call, renewed));
  };

  return {
    async send(call) {
      const res = await sendAuthed(call);
      const wait = rateLimitWait(env, res);
      if (wait === undefined) return res;
      try {
        await delay(wait, undefined, { signal: call.signal });
      } catch (err) {
        throw classifyThrown(err);
      }
      return sendAuthed(call);
    },
    toError: (res, operation) => toError(env, res, operation),
  };
}
