import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { sendProblem } from './respond.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Whether an Authorization header carries one of `tokens` as a bearer token. Tokens are compared
 * as SHA-256 digests in constant time, against every allowed token (no early exit). The one check
 * of both HTTP layers (express, and the onboarding fast path in app.ts).
 */
export function bearerCheck(tokens: readonly string[]): (authorization: string | undefined) => boolean {
  const allowed = tokens.map(digest);
  return (authorization) => {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    const given = m ? digest(m[1]!) : undefined;
    let ok = false;
    for (const t of allowed) ok = (given !== undefined && timingSafeEqual(t, given)) || ok;
    return ok;
  };
}

/** The header and problem of a refused bearer token. */
export const BEARER_CHALLENGE = ['WWW-Authenticate', 'Bearer'] as const;
export const BEARER_REFUSED = 'missing or invalid bearer token';

export function requireBearer(tokens: readonly string[]): RequestHandler {
  const ok = bearerCheck(tokens);
  return (req, res, next) => {
    if (!ok(req.headers.authorization)) {
      res.setHeader(...BEARER_CHALLENGE);
      return sendProblem(res, 401, BEARER_REFUSED);
    }
    next();
  };
}
