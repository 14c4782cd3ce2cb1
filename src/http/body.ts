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
import type { Request, RequestHandler } from 'express';
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
export function hasBody(req: Pick<Request, 'headers'>): boolean {
  return req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined;
}

/**
 * Reads the whole body, up to `limit` (inflated) bytes. On any refusal it stops reading at once
 * and leaves the request paused; the caller answers, and the answer closes the connection.
 */
export function readBody(req: Request, limit: number): Promise<BodyRead> {
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

function stop(req: Request, decoder: Transform | undefined): void {
  if (decoder) {
    req.unpipe(decoder);
    decoder.on('error', () => undefined);
    decoder.destroy();
  }
  req.pause();
}

/**
 * `express.json` (type `application/json`, utf-8, strict), with the limit enforced as above.
 * Other content types are left unparsed (`req.body` stays undefined), as express.json does.
 */
export function jsonBody(opts: { limit: number | string }): RequestHandler {
  const limit = parseLimit(opts.limit);
  return async (req, res, next) => {
    if (!hasBody(req) || req.readableEnded || !req.is('application/json')) return next();
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1];
    if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
      return sendProblem(res, 415, `unsupported charset "${charset.slice(0, 40)}"; send utf-8`);
    }
    const r = await readBody(req, limit);
    if (!r.ok) return sendProblem(res, r.status, r.detail);
    const text = r.body.toString('utf8').replace(/^\uFEFF/, '');
    if (text.length === 0) {
      req.body = {};
      return next();
    }
    // Strict, as body-parser: only an object or an array at the top.
    if (!/^[\s]*[[{]/.test(text)) return sendProblem(res, 400, 'body is not valid JSON');
    try {
      req.body = JSON.parse(text) as unknown;
    } catch {
      return sendProblem(res, 400, 'body is not valid JSON');
    }
    next();
  };
}
