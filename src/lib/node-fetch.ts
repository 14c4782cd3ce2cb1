/**
 * The outbound HTTP of provider clients and simulator webhooks: node:http(s) on keep-alive
 * agents, the answer read whole into a string. It is the part of `fetch` those callers use
 * (status, `headers.get`, `text()`), at a fraction of undici's cost per call (no web streams,
 * no Request/Response objects): about half of a provider call's CPU in the end-to-end benchmark.
 * `fetch` itself still fits `FetchFn`, so tests can inject it, or a wrapper of it.
 */
import http from 'node:http';
import https from 'node:https';

export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export interface FetchResponse {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export type FetchFn = (url: string, init: FetchInit) => Promise<FetchResponse>;

const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

function headerValue(v: string | string[] | undefined): string | null {
  if (v === undefined) return null;
  return Array.isArray(v) ? v.join(', ') : v;
}

/** What an aborted signal carries (an Error whenever the code aborting it gave one, as ours does). */
function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new DOMException('This operation was aborted', 'AbortError');
}

/** Rejects with the signal's reason when it aborts (as fetch does), with the socket error otherwise. */
export const nodeFetch: FetchFn = (url, init) =>
  new Promise<FetchResponse>((resolve, reject) => {
    const { signal, body } = init;
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const target = new URL(url);
    const scheme = target.protocol;
    if (scheme !== 'http:' && scheme !== 'https:') {
      reject(new TypeError(`unsupported protocol ${scheme}`));
      return;
    }
    const headers = body === undefined ? init.headers : { ...init.headers, 'content-length': String(Buffer.byteLength(body)) };
    const fail = (err: Error): void => {
      signal?.removeEventListener('abort', onAbort);
      reject(err);
    };
    const req = (scheme === 'https:' ? https : http).request(target, { method: init.method ?? 'GET', headers, agent: agents[scheme] }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail(new Error('connection closed before the whole answer arrived'));
      });
      res.on('end', () => {
        signal?.removeEventListener('abort', onAbort);
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: { get: (name) => headerValue(res.headers[name.toLowerCase()]) }, text: () => Promise.resolve(text) });
      });
    });
    function onAbort(): void {
      req.destroy();
      fail(abortReason(signal!));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', fail);
    req.end(body);
  });
