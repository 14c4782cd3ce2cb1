/**
 * Request bodies, read with a hard byte limit that is enforced as the bytes arrive.
 *
 * Why not body-parser's `limit`: on a body over the limit it "reads off" the rest of the request
 * before answering 413 (so the connection can be reused), which means a client announcing a
 * gigabyte, or streaming chunks that never end, holds the request open until the request timeout
 * and makes us read all of it. Here a declared `Content-Length` over the limit is refused before a
 * single byte is read, a body that grows past the limit (chunked, or compressed and inflating) is
 * refused the moment it does, and the answer closes the connection (see `respond.ts`), so the
 * rest is never read.
 *
 * Same semantics as `express.raw` / `express.json` otherwise: `gzip`, `deflate` and `br` bodies
 * are inflated (the limit applies to the inflated bytes), other encodings get 415; JSON is parsed
 * only for `application/json`, strictly (an object or an array at the top).
 */
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable, Transform } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { sendProblem } from './respond.js';

export type BodyRead =
  | { ok: true; body: Buffer }
  | { ok: false; status: 400 | 413 | 415; detail: string }; // -> that status

const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

const TOO_LARGE = (limit: number): BodyRead => ({ ok: false, status: 413, detail: `request body is larger than ${limit} bytes` });

/** `256kb`, `64kb`, `1mb` or a byte count → bytes (1 kb = 1024 bytes). */
export function parseLimit(limit: number | string): number {
  if (typeof limit === 'number') return limit;
  const m = /^(\d+)\s*(b|kb|mb)?$/i.exec(limit.trim());
  if (!m) throw new Error(`not a body limit: ${limit}`);
  const unit = { b: 1, kb: 1024, mb: 1024 * 1024 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Number(m[1]) * unit;
}

/** Whether the request announces a body at all (as type-is's `hasBody`). */
export function hasBody(req: Pick<IncomingMessage, 'headers'>): boolean {
  return req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined;
}

/**
 * Reads the whole body, up to `limit` (inflated) bytes. On any refusal it stops reading at once
 * and leaves the request paused; the caller answers, and the answer closes the connection.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyRead> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(TOO_LARGE(limit));
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  let decoder: Transform | undefined;
  if (encoding !== 'identity') {
    const make = DECODERS[encoding];
    if (!make) return Promise.resolve({ ok: false, status: 415, detail: `unsupported content encoding "${encoding.slice(0, 40)}"` });
    decoder = req.pipe(make());
  }
  const source: Readable = decoder ?? req;
  return new Promise<BodyRead>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (r: BodyRead): void => {
      source.off('data', onData).off('end', onEnd).off('error', onError);
      req.off('close', onClose);
      if (!r.ok) stop(req, decoder);
      resolve(r);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) return finish(TOO_LARGE(limit));
      chunks.push(chunk);
    };
    const onEnd = (): void => finish({ ok: true, body: Buffer.concat(chunks, size) });
    const onError = (): void => finish({ ok: false, status: 400, detail: 'the request body could not be read or decoded' });
    // The client went away mid-body: nobody is left to answer; resolve so nothing dangles.
    const onClose = (): void => { if (!req.readableEnded) onError(); };
    source.on('data', onData).on('end', onEnd).on('error', onError);
    req.on('close', onClose);
  });
}

function stop(req: IncomingMessage, decoder: Transform | undefined): void {
  if (decoder) {
    req.unpipe(decoder);
    decoder.on('error', () => undefined);
    decoder.destroy();
  }
  req.pause();
}

export type JsonRead = { ok: true; value: unknown } | { ok: false; status: 400 | 413 | 415; detail: string };

/** `application/json` with any parameters (type-is's match for that one type: no `+json`, no wildcard). */
const JSON_TYPE = /^\s*application\/json\s*(?:;|$)/i;

/**
 * The JSON body of a request, as `express.json` reads it (type `application/json`, utf-8, strict:
 * an object or an array at the top), with the limit enforced as above. `value` is undefined when
 * the request has no body or another content type (left unparsed, as express.json does), and `{}`
 * for an empty JSON body. The one reader of both HTTP layers (express, and the onboarding fast
 * path in app.ts).
 */
export async function readJson(req: IncomingMessage, limit: number): Promise<JsonRead> {
  if (!hasBody(req) || req.readableEnded || !JSON_TYPE.test(req.headers['content-type'] ?? '')) return { ok: true, value: undefined };
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    return { ok: false, status: 415, detail: `unsupported charset "${charset.slice(0, 40)}"; send utf-8` };
  }
  const r = await readBody(req, limit);
  if (!r.ok) return r;
  const text = r.body.toString('utf8').replace(/^\uFEFF/, '');
  if (text.length === 0) return { ok: true, value: {} };
  // Strict, as body-parser: only an object or an array at the top.
  if (!/^[\s]*[[{]/.test(text)) return { ok: false, status: 400, detail: 'body is not valid JSON' };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, status: 400, detail: 'body is not valid JSON' };
  }
}

/** `express.json` with the limit enforced as above: `readJson` into `req.body`. */
export function jsonBody(opts: { limit: number | string }): RequestHandler {
  const limit = parseLimit(opts.limit);
  return async (req, res, next) => {
    const r = await readJson(req, limit);
    if (!r.ok) return sendProblem(res, r.status, r.detail);
    if (r.value !== undefined) req.body = r.value;
    next();
  };
}
