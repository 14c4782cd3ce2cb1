/**
 * Outbound HTTP for provider clients: injected fetch (node-fetch.ts by default), per-call
 * timeout, caller's AbortSignal, and an observer for metrics. Never logs bodies (they carry
 * personal data).
 */
import { deadlineSignal } from './abort.js';
import type { FetchFn, FetchResponse } from './node-fetch.js';

export type { FetchFn } from './node-fetch.js';

export interface HttpObserver {
  (e: { operation: string; status: number | 'error'; seconds: number }): void;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  /** Exact bytes to send (signers sign these). */
  body?: string;
  /** Label for metrics, e.g. `create_user`. */
  operation: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: FetchResponse['headers'];
  text: string;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  json: unknown;
}

export async function httpRequest(
  fetchFn: FetchFn,
  req: HttpRequest,
  observe?: HttpObserver,
): Promise<HttpResponse> {
  const deadline = deadlineSignal(req.timeoutMs, req.signal);
  const started = performance.now();
  try {
    const res = await fetchFn(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: deadline.signal,
    });
    const text = await res.text();
    observe?.({ operation: req.operation, status: res.status, seconds: (performance.now() - started) / 1000 });
    return { status: res.status, headers: res.headers, text, json: parseJson(text) };
  } catch (err) {
    observe?.({ operation: req.operation, status: 'error', seconds: (performance.now() - started) / 1000 });
    throw err;
  } finally {
    deadline.clear();
  }
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
