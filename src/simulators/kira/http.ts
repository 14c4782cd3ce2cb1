/**
 * The Kira simulator's HTTP plumbing on bare `node:http`: the request as its handlers see it,
 * JSON answers, and the JSON body reader (what `express.json()` did: only for a JSON
 * content-type, `{}` for an empty body, objects and arrays only, a size limit). The simulator
 * shares the benchmark's two cores with the service it measures, so it stays off express.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RecordedRequest } from './types.js';

export interface SimRequest {
  method: string;
  /** The path without the query string, as the client sent it. */
  path: string;
  query: URLSearchParams;
  /** A request header by lower-case name (repeated ones joined by Node). */
  header(name: string): string | undefined;
  /** The parsed JSON body; undefined before it is read or when the content-type is not JSON. */
  body: unknown;
  /** The `:id` segment of `/v1/users/:id…` and `/_sim/users/:id/flip`, decoded. */
  id: string;
  res: ServerResponse;
  /** The request-log entry of this request (recorded requests only). */
  record?: RecordedRequest;
}

export function simRequest(req: IncomingMessage, res: ServerResponse): SimRequest {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return {
    method: req.method ?? 'GET',
    path: q === -1 ? url : url.slice(0, q),
    query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)),
    header: (name) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(', ') : v;
    },
    body: undefined,
    id: '',
    res,
  };
}

/** Answers `body` as JSON with `status` (and any extra headers). */
export function send(r: SimRequest, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = JSON.stringify(body);
  if (r.record) r.record.status = status;
  r.res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  r.res.end(text);
}

export type BodyResult = { ok: true; body: unknown } | { ok: false; problem: 'invalid_json' | 'too_large' };

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** Reads and parses a JSON body of at most `limit` bytes; a non-JSON content-type leaves it undefined. */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const type = req.headers['content-type'];
  if (type === undefined || !JSON_TYPE.test(type)) return Promise.resolve({ ok: true, body: undefined });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (r: BodyResult): void => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        return settle({ ok: false, problem: 'too_large' });
      }
      chunks.push(chunk);
    });
    req.on('end', () => settle(parse(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks))));
    req.on('error', () => settle({ ok: false, problem: 'invalid_json' }));
  });
}

/** body-parser's strict mode: an empty body is `{}`, anything but an object or array is refused. */
function parse(raw: Buffer): BodyResult {
  const text = raw.toString('utf8');
  const first = /\S/.exec(text)?.[0];
  if (first === undefined) return { ok: true, body: {} };
  if (first !== '{' && first !== '[') return { ok: false, problem: 'invalid_json' };
  try {
    return { ok: true, body: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, problem: 'invalid_json' };
  }
}

/** A path segment, percent-decoded (as a router's params are); kept as sent when it does not decode. */
export function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
