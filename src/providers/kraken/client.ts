/**
 * Kraken Embed HTTP client: every request carries `API-Key`, `API-Nonce`, `API-Sign` and
 * `Payward-Version`; the body is serialised once and those exact bytes are signed and sent; the
 * signed path is the request URL's own path + query, so an encoded IIBAN (`AA00%20TEST`) is signed
 * exactly as it travels. Failures are classified by `providers/errors.ts`.
 */
import type { Clock } from '../../lib/clock.js';
import { httpRequest, type FetchFn, type HttpObserver, type HttpResponse } from '../../lib/http.js';
import { nodeFetch } from '../../lib/node-fetch.js';
import { classifyStatus, classifyThrown, type ProviderCallError } from '../errors.js';
import type { KrakenNonceSource } from './nonce.js';
import { describeKrakenError, isInvalidNonce } from './problems.js';
import { signKrakenRequest } from './signature.js';

export const KRAKEN_API_VERSION = '2025-04-15';
export const DEFAULT_TIMEOUT_MS = 10_000;
/** A call holds its API key's nonce lease for at most its timeout plus this (then it expires). */
const LEASE_MARGIN_MS = 2_000;

export interface KrakenClientDeps {
  baseUrl: string;
  apiKey: string;
  /** Base64, as Kraken issues it; the HMAC key is the decoded bytes. */
  apiSecret: string;
  nonces: KrakenNonceSource;
  fetch?: FetchFn;
  clock: Clock;
  timeoutMs?: number;
  observe?: HttpObserver;
}

export interface KrakenCall {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path (+ query) below the base URL, already percent-encoded: build it with `userPath`. */
  path: string;
  /** A JSON body (serialised once; those bytes are signed and sent). */
  body?: unknown;
  /** A ready body of another type (multipart): signed and sent exactly as given. */
  raw?: { body: string; contentType: string };
  /** Metrics label, e.g. `create_user`. */
  operation: string;
  signal?: AbortSignal;
}

export interface KrakenClient {
  /** Any HTTP status comes back as a response; network failures and timeouts throw classified. */
  send(call: KrakenCall): Promise<HttpResponse>;
  /** A non-2xx answer → RetryableError | RateLimitedError | PermanentError (no PII in the message). */
  toError(res: HttpResponse, operation: string): ProviderCallError;
}

/** `/b2b/users/{user}` with the IIBAN percent-encoded (IIBANs may contain spaces). */
export function userPath(iiban: string): string {
  return `/b2b/users/${encodeURIComponent(iiban)}`;
}

/** `/b2b/verifications/{user}`, the IIBAN encoded as in `userPath`. */
export function verificationPath(iiban: string): string {
  return `/b2b/verifications/${encodeURIComponent(iiban)}`;
}

export function isOk(res: HttpResponse): boolean {
  return res.status >= 200 && res.status < 300;
}

export function createKrakenClient(deps: KrakenClientDeps): KrakenClient {
  const base = deps.baseUrl.replace(/\/+$/, '');
  const fetchFn = deps.fetch ?? nodeFetch;
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  const toError = (res: HttpResponse, operation: string): ProviderCallError => {
    const problem = describeKrakenError(res.json);
    return classifyStatus(res.status, {
      retryAfter: res.headers.get('retry-after'),
      now: deps.clock.now(),
      message: `Kraken ${operation} failed: HTTP ${res.status} ${problem.summary}`,
      details: problem.details,
    });
  };

  /** One signed exchange with a fresh nonce, holding the API key's nonce lease until it answers. */
  const exchange = async (
    call: KrakenCall,
    url: URL,
    body: string | undefined,
    contentType: string,
  ): Promise<HttpResponse> => {
    // The URL's own serialisation is what goes on the wire, so it is also what is signed.
    const pathWithQuery = `${url.pathname}${url.search}`;
    try {
      return await deps.nonces.withNonce(
        (nonce) => {
          const headers: Record<string, string> = {
            'API-Key': deps.apiKey,
            'API-Nonce': nonce,
            'API-Sign': signKrakenRequest({ secret: deps.apiSecret, pathWithQuery, nonce, body }),
            'Payward-Version': KRAKEN_API_VERSION,
            Accept: 'application/json',
          };
          if (body !== undefined) headers['Content-Type'] = contentType;
          return httpRequest(
            fetchFn,
            {
              method: call.method,
              url: url.href,
              headers,
              body,
              operation: call.operation,
              timeoutMs,
              signal: call.signal,
            },
            deps.observe,
          );
        },
        { holdMs: timeoutMs + LEASE_MARGIN_MS, signal: call.signal },
      );
    } catch (err) {
      throw classifyThrown(err);
    }
  };

  return {
    async send(call) {
      const url = new URL(`${base}${call.path}`);
      const body =
        call.raw?.body ?? (call.body === undefined ? undefined : JSON.stringify(call.body));
      const contentType = call.raw?.contentType ?? 'application/json';
      const res = await exchange(call, url, body, contentType);
      // An invalid nonce means another writer of this API key outside our coordination (or a
      // lease that expired under a stalled holder): one more try with a fresh nonce, then give up.
      if (res.status === 401 && isInvalidNonce(describeKrakenError(res.json))) {
        return exchange(call, url, body, contentType);
      }
      return res;
    },
    toError,
  };
}
