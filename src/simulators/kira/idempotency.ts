/**
 * `Idempotency-Key` handling for the POSTs that require it (UUID v4; missing → 400). A stored
 * key with a different request → 409; with the same request → the original response again
 * (`replay`) or 409 (`conflict`), the switch PROVIDERS.md rule 9 asks for.
 */
import type { SimContext } from './context.js';
import { send, type SimRequest } from './http.js';
import { stableJson, type StoredResponse } from './state.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export interface IdempotentCall {
  key: string;
  fingerprint: string;
}

function fingerprintOf(r: SimRequest): string {
  return `${r.method} ${r.path.replace(/\/$/, '')} ${stableJson(r.body ?? {})}`;
}

/**
 * Answers the request itself (400 / 409 / replay) and returns undefined, or returns the key
 * and fingerprint when the request is new and should be executed.
 */
export function beginIdempotent(ctx: SimContext, r: SimRequest): IdempotentCall | undefined {
  const key = r.header('idempotency-key');
  if (key === undefined || key.trim() === '') {
    send(r, 400, { code: 'validation_error', message: 'Idempotency-Key header is required' });
    return undefined;
  }
  if (!UUID_V4.test(key)) {
    send(r, 400, { code: 'validation_error', message: 'Idempotency-Key must be a UUID v4' });
    return undefined;
  }
  const fingerprint = fingerprintOf(r);
  const seen = ctx.state.idempotency(key);
  if (!seen) return { key, fingerprint };
  if (seen.fingerprint === fingerprint && ctx.idempotencyReplay === 'replay') {
    send(r, seen.response.status, seen.response.body);
  } else {
    send(r, 409, { code: 'conflict', message: 'Idempotency key reused' });
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
