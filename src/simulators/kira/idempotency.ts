/**
 * `Idempotency-Key` handling for the POSTs that require it (UUID v4; missing → 400). A stored
 * key with a different request → 409; with the same request → the original response again
 * (`replay`) or 409 (`conflict`), the switch PROVIDERS.md rule 9 asks for.
 */
import type { Request, Response } from 'express';
import type { SimContext } from './context.js';
import { stableJson, type StoredResponse } from './state.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export interface IdempotentCall {
  key: string;
  fingerprint: string;
}

function fingerprintOf(req: Request): string {
  return `${req.method} ${req.baseUrl}${req.path} ${stableJson(req.body ?? {})}`;
}

/**
 * Answers the request itself (400 / 409 / replay) and returns undefined, or returns the key
 * and fingerprint when the request is new and should be executed.
 */
export function beginIdempotent(
  ctx: SimContext,
  req: Request,
  res: Response,
): IdempotentCall | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined || key.trim() === '') {
    res
      .status(400)
      .json({ code: 'validation_error', message: 'Idempotency-Key header is required' });
    return undefined;
  }
  if (!UUID_V4.test(key)) {
    res
      .status(400)
      .json({ code: 'validation_error', message: 'Idempotency-Key must be a UUID v4' });
    return undefined;
  }
  const fingerprint = fingerprintOf(req);
  const seen = ctx.state.idempotency(key);
  if (!seen) return { key, fingerprint };
  if (seen.fingerprint === fingerprint && ctx.idempotencyReplay === 'replay') {
    res.status(seen.response.status).json(seen.response.body);
  } else {
    res.status(409).json({ code: 'conflict', message: 'Idempotency key reused' });
  }
  return undefined;
}

/** Only successful results are stored: a request refused by validation can be fixed and resent. */
export function commitIdempotent(
  ctx: SimContext,
  call: IdempotentCall,
  response: StoredResponse,
): void {
  ctx.state.remember(call.key, call.fingerprint, response);
}
