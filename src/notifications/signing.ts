/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the signature is
 * `v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>` keyed with the base64-decoded part of a
 * `whsec_` secret. The body sent must be exactly the bytes signed.
 */
import { createHmac } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/** Decodes a `whsec_<base64>` secret to its key bytes (the prefix is optional, as in the spec libraries). */
export function secretKey(secret: string): Buffer {
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = Buffer.from(b64, 'base64');
  if (key.length === 0) throw new RangeError('webhook secret decodes to no bytes');
  return key;
}

export function signature(key: Buffer, msg: { id: string; timestamp: number; body: string }): string {
  const mac = createHmac('sha256', key).update(`${msg.id}.${msg.timestamp}.${msg.body}`).digest('base64');
  return `v1,${mac}`;
}

/** The three headers of a signed delivery; `at` is the attempt time (a new timestamp per attempt). */
export function signedHeaders(key: Buffer, id: string, body: string, at: Date): Record<string, string> {
  const timestamp = Math.floor(at.getTime() / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature(key, { id, timestamp, body }),
  };
}
