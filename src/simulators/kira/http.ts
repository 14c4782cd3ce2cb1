/**
 * The Kira simulator's HTTP plumbing on bare `node:http`: the request as its handlers see it and
 * its JSON answers. Bodies are read by the service's own `readJson` (http/body.ts), which reads
 * them as `express.json()` does. The simulator shares the benchmark's two cores with the service
 * it measures, so it stays off express.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { writeJson } from '../../http/respond.js';
import type { SimContext } from './context.js';
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

/** A route's handler: it answers `r` itself. */
export type SimHandler = (ctx: SimContext, r: SimRequest) => void;

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

/** Answers `body` as JSON with `status` (and any extra headers), and logs the status. */
export function send(r: SimRequest, status: number, body: unknown, headers?: Record<string, string>): void {
  if (r.record) r.record.status = status;
  writeJson(r.res, status, body as object, headers);
}

/** A path segment, percent-decoded (as a router's params are); kept as sent when it does not decode. */
export function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
