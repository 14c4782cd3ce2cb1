import { createHash, randomUUID } from 'node:crypto';

/**
 * A UUID v4-shaped id derived from a seed: the same seed always gives the same id. Used for
 * idempotency keys that must survive restarts (`caseId:create:round`), so no state is needed to
 * send the same key on every retry.
 */
export function uuidFromSeed(seed: string): string {
  const b = createHash('sha256').update(seed).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function newId(): string {
  return randomUUID();
}

export function caseIdempotencyKey(caseId: string, purpose: 'create' | 'reissue', round: number): string {
  return uuidFromSeed(`${caseId}:${purpose}:${round}`);
}
