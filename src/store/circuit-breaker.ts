/**
 * Per-provider circuit breakers whose state lives in Redis, so that every worker process on every
 * host opens, probes and closes the same circuit (decisions in lib/circuit.ts). One key per
 * provider, `<prefix>:circuit:<provider>`, holding the JSON record; it shares the prefix's hash
 * tag, so it sits in the deployment's Redis Cluster slot. Transitions are a compare-and-swap in
 * Lua on the whole record: a process that lost the race decides again on what the winner stored.
 */
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import { createCircuitBreaker, type CircuitBreaker, type CircuitCell, type CircuitPolicy, type CircuitState } from '../lib/circuit.js';
import type { RedisClient } from '../queue/redis.js';

/** KEYS[1] record; ARGV[1] expected value ('' = absent), ARGV[2] new value. → {1} or {0, current ('' = absent)}. */
const SWAP = `
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[1] then return {0, cur} end
redis.call('SET', KEYS[1], ARGV[2])
return {1}
`;

type SwapRedis = RedisClient & { kycCircuitSwap(key: string, expected: string, next: string): Promise<[number, string?]> };

export function circuitKey(prefix: string, provider: string): string {
  return `${prefix}:circuit:${provider}`;
}

/** The Redis cell of one provider's circuit. */
export function redisCircuitCell(redis: RedisClient, key: string): CircuitCell {
  const r = redis as SwapRedis;
  if (typeof r.kycCircuitSwap !== 'function') redis.defineCommand('kycCircuitSwap', { numberOfKeys: 1, lua: SWAP });
  return {
    read: () => redis.get(key),
    async swap(expected, next) {
      const [ok, current] = await r.kycCircuitSwap(key, expected ?? '', next);
      return ok === 1 ? { ok: true } : { ok: false, current: current ? current : null };
    },
  };
}

export interface CircuitBreakersDeps {
  redis: RedisClient;
  prefix: string;
  policy: CircuitPolicy;
  clock: Clock;
  log: Logger;
  /** Metrics hooks: a transition this process made, a call it refused. */
  onTransition?(provider: string, to: CircuitState): void;
  onReject?(provider: string): void;
}

export interface CircuitBreakers {
  /** The breaker of one provider (created once, shared by every call of this process). */
  get(provider: string): CircuitBreaker;
  /** Effective state of each breaker created so far (metrics, read at scrape time). */
  states(): Promise<{ provider: string; state: CircuitState }[]>;
}

export function createCircuitBreakers(deps: CircuitBreakersDeps): CircuitBreakers {
  const byProvider = new Map<string, CircuitBreaker>();
  function build(provider: string): CircuitBreaker {
    const log = deps.log.child({ provider, component: 'circuit' });
    return createCircuitBreaker({
      cell: redisCircuitCell(deps.redis, circuitKey(deps.prefix, provider)),
      policy: deps.policy,
      clock: deps.clock,
      onTransition(to, rec) {
        deps.onTransition?.(provider, to);
        if (to === 'open') log.warn({ to, openForMs: rec.state === 'open' ? rec.until - deps.clock.now().getTime() : undefined, trips: rec.state === 'open' ? rec.trips : undefined }, 'provider circuit opened: calls held back');
        else log.info({ to }, to === 'closed' ? 'provider circuit closed: calls resume' : 'provider circuit half-open: one probe call goes through');
      },
      onReject: () => deps.onReject?.(provider),
      onError: (err) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'circuit outcome not recorded'),
    });
  }
  return {
    get(provider) {
      let b = byProvider.get(provider);
      if (!b) byProvider.set(provider, (b = build(provider)));
      return b;
    },
    states: () => Promise.all([...byProvider].map(async ([provider, b]) => ({ provider, state: await b.state() }))),
  };
}
