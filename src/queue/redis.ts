/**
 * Redis connections. Producers fail fast (no offline queue) so that the api answers 503 at once
 * when Redis is down instead of acknowledging something it could not store; workers and
 * blocking connections wait and reconnect (`maxRetriesPerRequest: null`, as BullMQ requires).
 */
import { Redis, type RedisOptions } from 'ioredis';

export type RedisRole = 'producer' | 'worker';

export function redisOptions(role: RedisRole): RedisOptions {
  const base: RedisOptions = {
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(1_000, 50 * times),
    lazyConnect: false,
  };
  return role === 'producer'
    ? { ...base, enableOfflineQueue: false, maxRetriesPerRequest: 1 }
    : { ...base, maxRetriesPerRequest: null };
}

export function createRedis(url: string, role: RedisRole): Redis {
  const r = new Redis(url, redisOptions(role));
  r.on('error', () => {
    // Connection errors are reported by readiness and by the failing commands themselves;
    // without a listener ioredis would print every reconnect attempt.
  });
  return r;
}

/** Resolves once the connection is ready, or rejects after `timeoutMs` (start-up only). */
export async function redisReady(r: Redis, timeoutMs = 10_000): Promise<void> {
  if (r.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { r.off('ready', onReady); reject(new Error(`Redis not reachable within ${timeoutMs} ms`)); }, timeoutMs);
    function onReady(): void { clearTimeout(timer); resolve(); }
    r.once('ready', onReady);
  });
}
