/**
 * Kraken's two signatures (PROVIDERS.md §1.3 and §1.8), as pure functions.
 *
 * Requests: `API-Sign = base64(HMAC-SHA512(base64decode(secret), pathWithQuery ++ SHA256(nonce ++ body)))`
 * where the SHA-256 is the raw 32-byte digest and `body` is the exact string sent on the wire
 * (empty for GET). Webhooks: `v1 = hex(HMAC-SHA256(base64decode(secret), "{t}.{rawBody}"))`.
 */
import { createHash, createHmac } from 'node:crypto';

export interface RequestToSign {
  /** The API secret exactly as Kraken issues it (base64). */
  secret: string;
  /** Path plus query exactly as it appears in the request line, e.g. `/b2b/users/AA00%20TEST`. */
  pathWithQuery: string;
  /** The decimal nonce exactly as sent in `API-Nonce`. */
  nonce: string;
  /** The exact body bytes sent; empty or undefined for requests without a body. */
  body?: string | Buffer;
}

export function signKrakenRequest(r: RequestToSign): string {
  const body = r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body);
  const digest = createHash('sha256')
    .update(Buffer.concat([Buffer.from(r.nonce, 'utf8'), body]))
    .digest();
  return createHmac('sha512', Buffer.from(r.secret, 'base64'))
    .update(Buffer.concat([Buffer.from(r.pathWithQuery, 'utf8'), digest]))
    .digest('base64');
}

/** `hex(HMAC-SHA256(base64decode(secret), "{t}.{rawBody}"))`; `t` in unix seconds. */
export function signKrakenWebhook(
  secret: string,
  t: string | number,
  rawBody: string | Buffer,
): string {
  return createHmac('sha256', Buffer.from(secret, 'base64'))
    .update(Buffer.concat([Buffer.from(`${t}.`, 'utf8'), Buffer.from(rawBody)]))
    .digest('hex');
}
