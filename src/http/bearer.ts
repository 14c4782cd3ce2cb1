import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { sendProblem } from './respond.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Bearer-token check; tokens are compared as SHA-256 digests in constant time. */
export function requireBearer(tokens: readonly string[]): RequestHandler {
  const allowed = tokens.map(digest);
  return (req, res, next) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const given = m ? digest(m[1]!) : undefined;
    let ok = false;
    for (const t of allowed) ok = (given !== undefined && timingSafeEqual(t, given)) || ok;
    if (!ok) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return sendProblem(res, 401, 'missing or invalid bearer token');
    }
    next();
  };
}
