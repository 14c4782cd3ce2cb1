/**
 * Cross-process nonce source for Kraken's `API-Nonce` (PROVIDERS.md §1.3, §4.4), on Redis.
 *
 * - Value: nanoseconds since the epoch from the injected clock (a 19-digit decimal), or the last
 *   issued nonce + 1 when the clock has not moved past it (same millisecond, another host's clock
 *   ahead, a clock stepping back). The last nonce lives in one Redis key per API key, forever.
 * - Exactness: Lua numbers are doubles (53 bits), a 19-digit nonce is not. The script never does
 *   arithmetic on them: it compares decimal strings (longer is larger; equal length compares
 *   lexicographically) and uses INCR, which Redis does on 64-bit integers, then reads the value
 *   back as a string.
 * - Order on the wire: `withNonce` holds a per-API-key lease (SET NX PX) from issuing the nonce
 *   until the call's answer is in, so nonces reach Kraken in the order they were issued, whichever
 *   process or host sent them. A crashed holder's lease expires after `holdMs`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { RedisClient } from '../queue/redis.js';
import type { Clock } from '../lib/clock.js';

/** KEYS[1] last nonce, KEYS[2] lease; ARGV[1] candidate, ARGV[2] lease token ('' = no lease), ARGV[3] lease ms. */
const ISSUE = `
if ARGV[2] ~= '' then
  if not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return false end
end
local last = redis.call('GET', KEYS[1])
local cand = ARGV[1]
if (not last) or #cand > #last or (#cand == #last and cand > last) then
  redis.call('SET', KEYS[1], cand)
  return cand
end
redis.call('INCR', KEYS[1])
return redis.call('GET', KEYS[1])
`;

/** KEYS[1] lease; ARGV[1] token. Deletes the lease only if it is still ours. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

type NonceRedis = RedisClient & {
  krakenNonceIssue(
    k1: string,
    k2: string,
    cand: string,
    token: string,
    ms: string,
  ): Promise<string | null>;
  krakenNonceRelease(k1: string, token: string): Promise<number>;
};

export interface RedisNonceSourceDeps {
  redis: RedisClient;
  /** The API key the nonces belong to (hashed into the key name, never stored). */
  apiKey: string;
  clock: Clock;
  /** Key namespace; default `kyc-nonce`. The API key, not the queue prefix, scopes the nonce. */
  namespace?: string;
  /** Longest pause between attempts to take a busy lease (ms); default 4. */
  maxPollMs?: number;
}

export interface RedisNonceSource {
  /** The next nonce, strictly greater than every nonce issued before for this API key. */
  next(): Promise<string>;
  /** See `KrakenNonceSource.withNonce` (src/providers/kraken/nonce.ts). */
  withNonce<T>(
    send: (nonce: string) => Promise<T>,
    opts: { holdMs: number; signal?: AbortSignal },
  ): Promise<T>;
  readonly keys: { last: string; lease: string };
}

export function nonceKeys(
  apiKey: string,
  namespace = 'kyc-nonce',
): { last: string; lease: string } {
  const id = createHash('sha256').update(apiKey).digest('hex').slice(0, 16);
  // One hash tag, so both keys live in one cluster slot (the script touches both).
  return { last: `${namespace}:{${id}}:last`, lease: `${namespace}:{${id}}:lease` };
}

export function createRedisNonceSource(deps: RedisNonceSourceDeps): RedisNonceSource {
  const redis = deps.redis as NonceRedis;
  if (typeof redis.krakenNonceIssue !== 'function') {
    deps.redis.defineCommand('krakenNonceIssue', { numberOfKeys: 2, lua: ISSUE });
    deps.redis.defineCommand('krakenNonceRelease', { numberOfKeys: 1, lua: RELEASE });
  }
  const keys = nonceKeys(deps.apiKey, deps.namespace);
  const maxPollMs = deps.maxPollMs ?? 4;
  const candidate = (): string => (BigInt(deps.clock.now().getTime()) * 1_000_000n).toString();

  async function next(): Promise<string> {
    const got = await redis.krakenNonceIssue(keys.last, keys.lease, candidate(), '', '0');
    if (got === null) throw new Error('nonce script returned nothing');
    return got;
  }

  async function acquire(token: string, holdMs: number, signal?: AbortSignal): Promise<string> {
    for (let attempt = 0; ; attempt += 1) {
      signal?.throwIfAborted();
      const got = await redis.krakenNonceIssue(
        keys.last,
        keys.lease,
        candidate(),
        token,
        String(holdMs),
      );
      if (got !== null) return got;
      // Busy: another call of this API key is in flight. Short jittered pauses keep the wait
      // close to the holder's call time without hammering Redis.
      const pause = Math.min(maxPollMs, 1 + attempt) * (0.5 + Math.random());
      await delay(pause, undefined, signal ? { signal } : undefined);
    }
  }

  async function withNonce<T>(
    send: (nonce: string) => Promise<T>,
    opts: { holdMs: number; signal?: AbortSignal },
  ): Promise<T> {
    const token = randomUUID();
    const nonce = await acquire(token, Math.max(1, Math.ceil(opts.holdMs)), opts.signal);
    try {
      return await send(nonce);
    } finally {
      await redis.krakenNonceRelease(keys.lease, token).catch(() => undefined);
    }
  }

  return { next, withNonce, keys };
}
