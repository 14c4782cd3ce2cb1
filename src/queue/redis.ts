/**
 * Redis connections. Producers fail fast (no offline queue) so that the api answers 503 at once
 * when Redis is down instead of acknowledging something it could not store; workers and
 * blocking connections wait and reconnect (`maxRetriesPerRequest: null`, as BullMQ requires).
 *
 * `REDIS_URL` names one Redis or a Redis Cluster (config/redis-url.ts); either way the rest of the
 * code gets a `RedisClient`. Every key of a deployment shares the prefix's hash tag, so on a
 * cluster they all live in one slot and the multi-key Lua scripts and MULTIs run unchanged.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { parseRedisUrl, type RedisTarget } from '../config/redis-url.js';
import { coalesceWrites } from './coalesce-writes.js';

export type RedisRole = 'producer' | 'worker';

/**
 * A connection to one Redis or to a Redis Cluster. Both have the same commands, scripts
 * (`defineCommand`), `multi` and events; what differs is anything without a key (SCAN, INFO,
 * DBSIZE, PING): on a cluster those reach one node, so use `masters` to ask each.
 */
export type RedisClient = Redis | Cluster;

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

/**
 * The cluster equivalent of `redisOptions`: the offline queue and the reconnect strategy belong
 * to the cluster client (ioredis does not take them per node), the rest goes to every node. A
 * lost node is not redialled on its own: the client refreshes the slot map and follows the
 * cluster (MOVED), as ioredis intends.
 */
export function clusterOptions(role: RedisRole, target: Extract<RedisTarget, { kind: 'cluster' }>): ClusterOptions {
  const { retryStrategy, enableOfflineQueue, lazyConnect, ...node } = redisOptions(role);
  return {
    clusterRetryStrategy: retryStrategy,
    enableOfflineQueue: enableOfflineQueue ?? true,
    lazyConnect,
    redisOptions: {
      ...node,
      ...(target.username ? { username: target.username } : {}),
      ...(target.password ? { password: target.password } : {}),
      ...(target.tls ? { tls: {} } : {}),
    },
  };
}

export function createRedis(url: string, role: RedisRole): RedisClient {
  const target = parseRedisUrl(url);
  const r = target.kind === 'cluster'
    ? new Cluster(target.nodes, clusterOptions(role, target))
    : new Redis(target.url, redisOptions(role));
  if (r instanceof Cluster) r.on('+node', (node: Redis) => coalesceWrites(node));
  else coalesceWrites(r);
  r.on('error', () => {
    // Connection errors are reported by readiness and by the failing commands themselves;
    // without a listener ioredis would print every reconnect attempt.
  });
  return r;
}

export function isCluster(r: RedisClient): r is Cluster {
  return r instanceof Cluster;
}

/** The connections that hold the data: the client itself, or each master of a cluster. */
export function masters(r: RedisClient): Redis[] {
  return isCluster(r) ? r.nodes('master') : [r];
}

/**
 * PING: on a cluster every master must answer (a PING to one node says nothing of the slot a
 * deployment lives in). An empty node list (the slot map not known yet) is not an answer.
 */
export async function pingRedis(r: RedisClient): Promise<boolean> {
  const nodes = masters(r);
  if (nodes.length === 0) return false;
  const answers = await Promise.all(nodes.map((n) => n.ping().then((p) => p === 'PONG', () => false)));
  return answers.every(Boolean);
}

/** Resolves once the connection is ready, or rejects after `timeoutMs` (start-up only). */
export async function redisReady(r: RedisClient, timeoutMs = 10_000): Promise<void> {
  if (r.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { r.off('ready', onReady); reject(new Error(`Redis not reachable within ${timeoutMs} ms`)); }, timeoutMs);
    function onReady(): void { clearTimeout(timer); resolve(); }
    r.once('ready', onReady);
  });
}
