/**
 * What a `REDIS_URL` names. One place decides it, for the config check at start (env.ts) and for
 * the connection (queue/redis.ts):
 * - `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS): one Redis, read by ioredis as
 *   it always was.
 * - `redis+cluster://[user:password@]host1:port1,host2:port2,…`, `rediss+cluster://…` (TLS): a Redis
 *   Cluster. The nodes are seeds: the client learns the whole cluster from any one of them, so one
 *   is enough, and listing several lets a start-up survive one being down. The credentials apply
 *   to every node. No database number or options: a cluster only has database 0.
 * Pure (no ioredis): config must not depend on the connection code.
 */
import { z } from 'zod';

export interface RedisNode { host: string; port: number }

export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | { kind: 'cluster'; nodes: RedisNode[]; username?: string; password?: string; tls: boolean };

const CLUSTER = /^(rediss?)\+cluster:\/\/(.*)$/i;
const DEFAULT_PORT = 6379;
/** The standalone forms, validated exactly as before cluster URLs existed. */
const StandaloneUrl = z.url({ protocol: /^rediss?$/ });

/** Parses a REDIS_URL; throws an Error whose message says what is wrong (no secret in it). */
export function parseRedisUrl(raw: string): RedisTarget {
  const s = raw.trim();
  const m = CLUSTER.exec(s);
  if (!m) {
    const r = StandaloneUrl.safeParse(s);
    if (!r.success) throw new Error('must be redis://host:port, rediss://host:port or redis+cluster://host1:port1,host2:port2');
    return { kind: 'standalone', url: r.data };
  }
  const [, scheme, rest] = m as unknown as [string, string, string];
  const at = rest.lastIndexOf('@');
  const userinfo = at >= 0 ? rest.slice(0, at) : undefined;
  const hosts = (at >= 0 ? rest.slice(at + 1) : rest).replace(/\/$/, '');
  if (/[/?#]/.test(hosts)) throw new Error('a cluster URL takes no database number, path or options (a cluster only has database 0)');
  const list = hosts.split(',').map((h) => h.trim());
  if (list.length === 0 || list.some((h) => h === '')) throw new Error('a cluster URL needs a comma-separated list of host:port, e.g. redis+cluster://10.0.0.1:7000,10.0.0.2:7000');
  const nodes = list.map(parseNode);
  const creds = userinfo === undefined ? {} : credentials(userinfo);
  return { kind: 'cluster', nodes, ...creds, tls: scheme.toLowerCase() === 'rediss' };
}

function parseNode(hostPort: string): RedisNode {
  let u: URL;
  try {
    u = new URL(`redis://${hostPort}`);
  } catch {
    throw new Error(`"${hostPort}" is not a host:port`);
  }
  if (!u.hostname || u.username || u.password || u.pathname !== '') throw new Error(`"${hostPort}" is not a host:port`);
  // WHATWG keeps IPv6 literals in brackets; the socket wants the bare address.
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port ? Number(u.port) : DEFAULT_PORT };
}

function credentials(userinfo: string): { username?: string; password?: string } {
  const colon = userinfo.indexOf(':');
  const user = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
  const pass = colon >= 0 ? userinfo.slice(colon + 1) : undefined;
  try {
    return { ...(user ? { username: decodeURIComponent(user) } : {}), ...(pass ? { password: decodeURIComponent(pass) } : {}) };
  } catch {
    throw new Error('the user or password of the cluster URL is not valid percent-encoding');
  }
}

/**
 * The URL as it may be printed: the password replaced by `***` (`redis://:***@host`,
 * `redis+cluster://user:***@a:7000,b:7001`). Unparseable input is never echoed.
 */
export function redactRedisUrl(raw: string): string {
  let target: RedisTarget;
  try {
    target = parseRedisUrl(raw);
  } catch {
    return '(unparseable REDIS_URL)';
  }
  if (target.kind === 'standalone') {
    const u = new URL(target.url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  }
  const user = target.username ? encodeURIComponent(target.username) : '';
  const auth = target.password ? `${user}:***@` : user ? `${user}@` : '';
  const hosts = target.nodes.map((n) => `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`).join(',');
  return `${target.tls ? 'rediss' : 'redis'}+cluster://${auth}${hosts}`;
}

/** `REDIS_URL` for the config schema: a standalone or a cluster URL, with a message naming the problem. */
export const RedisUrlSchema = z.string().transform((s, ctx) => {
  try {
    parseRedisUrl(s);
    return s.trim();
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** Whether a cluster URL (cheap check for the config's cross-field rules; full check above). */
export function isClusterUrl(raw: string): boolean {
  return CLUSTER.test(raw.trim());
}

/**
 * Whether every key starting with `prefix` hashes to one cluster slot: Redis hashes only the part
 * between the key's first `{` and the first `}` after it, when that part is not empty.
 */
export function hasHashTag(prefix: string): boolean {
  const open = prefix.indexOf('{');
  return open >= 0 && prefix.indexOf('}', open + 1) > open + 1;
}
