/**
 * Values that `/metrics` reads from Redis at scrape time: queue depths from BullMQ and the open /
 * overdue escalations from the case store's status index. Each source is cached for a short TTL
 * and single-flight (concurrent scrapes share one read), and bounded by a timeout, so a scrape
 * storm or a slow Redis never turns into a Redis storm or a hanging `/metrics`.
 */
import type { Queue } from 'bullmq';
import type { RedisClient } from '../queue/redis.js';
import type { Clock } from '../lib/clock.js';
import type { EscalationCount, QueueCount } from './metrics.js';

/** BullMQ states exposed as `kyc_queue_jobs{state}` ('paused' holds the jobs of a paused queue). */
export const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'paused', 'waiting-children', 'failed', 'completed'] as const;

/**
 * Wraps `read` in a TTL cache with single flight. A failed or timed-out read yields `undefined`
 * (the gauges then emit nothing for that scrape) and is retried on the next scrape.
 */
export function cachedRead<T>(read: () => Promise<T>, opts: { ttlMs: number; timeoutMs: number; now?: () => number }): () => Promise<T | undefined> {
  const now = opts.now ?? (() => performance.now());
  let value: { at: number; v: T } | undefined;
  let inflight: Promise<T | undefined> | undefined;
  return () => {
    if (value && now() - value.at < opts.ttlMs) return Promise.resolve(value.v);
    inflight ??= withTimeout(read(), opts.timeoutMs)
      .then((v) => { value = { at: now(), v }; return v; }, () => { value = undefined; return undefined; })
      .finally(() => { inflight = undefined; });
    return inflight;
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** `kyc_queue_jobs`: one `getJobCounts` (a single Lua call) per queue. */
export function queueCountsSource(queues: readonly Queue[], opts: { ttlMs?: number; timeoutMs?: number } = {}): () => Promise<QueueCount[] | undefined> {
  return cachedRead(async () => {
    const perQueue = await Promise.all(queues.map(async (q) => {
      // 'paused' is a real BullMQ list but not part of the JobType union of the typings.
      const counts = await q.getJobCounts(...(QUEUE_STATES as readonly string[] as Parameters<Queue['getJobCounts']>));
      return QUEUE_STATES.map((state) => ({ queue: q.name, state, count: counts[state] ?? 0 }));
    }));
    return perQueue.flat();
  }, { ttlMs: opts.ttlMs ?? 2_000, timeoutMs: opts.timeoutMs ?? 1_000 });
}

/**
 * Reads the provider of each case id inside Redis (cjson), so that no case document (which holds
 * the applicant's personal data) crosses the wire just to be counted.
 */
const CASE_PROVIDERS = `
local out = {}
for i, key in ipairs(KEYS) do
  local doc = redis.call('HGET', key, 'doc')
  local p = ''
  if doc then
    local ok, c = pcall(cjson.decode, doc)
    if ok and type(c) == 'table' and type(c.provider) == 'string' then p = c.provider end
  end
  out[i] = p
end
return out
`;

export interface EscalationSourceDeps {
  redis: RedisClient;
  /** The case store's keys: the `escalated` status index (score = ms the case entered it) and case hashes. */
  keys: { status(s: 'escalated'): string; case(id: string): string };
  /** Escalations open longer than this are overdue (config ESCALATION_SLA). */
  slaMs: number;
  clock: Clock;
  /** Providers always reported, with 0 when they have no escalation. */
  providers: readonly string[];
  ttlMs?: number;
  timeoutMs?: number;
}

/**
 * `kyc_escalations_open` / `kyc_escalations_overdue` per provider. The index is read once per TTL
 * (ids and entry times); the provider of a case never changes, so it is looked up once per id
 * and remembered while the case stays escalated. Overdue is computed against the clock at every
 * scrape, so it turns on when the SLA passes even between two reads of the index.
 */
export function escalationSource(deps: EscalationSourceDeps): () => Promise<EscalationCount[] | undefined> {
  const providerOf = new Map<string, string>();
  const BATCH = 500;
  const readIndex = cachedRead(async () => {
    const flat = await deps.redis.zrange(deps.keys.status('escalated'), '0', '-1', 'WITHSCORES');
    const entries: { id: string; since: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) entries.push({ id: flat[i]!, since: Number(flat[i + 1]) });
    const unknown = entries.map((e) => e.id).filter((id) => !providerOf.has(id));
    for (let i = 0; i < unknown.length; i += BATCH) {
      const ids = unknown.slice(i, i + BATCH);
      const providers = (await deps.redis.eval(CASE_PROVIDERS, ids.length, ...ids.map((id) => deps.keys.case(id)))) as string[];
      ids.forEach((id, j) => providerOf.set(id, providers[j] || 'unknown'));
    }
    const live = new Set(entries.map((e) => e.id));
    for (const id of providerOf.keys()) if (!live.has(id)) providerOf.delete(id);
    return entries;
  }, { ttlMs: deps.ttlMs ?? 5_000, timeoutMs: deps.timeoutMs ?? 2_000 });

  return async () => {
    const entries = await readIndex();
    if (!entries) return undefined;
    const overdueBefore = deps.clock.now().getTime() - deps.slaMs;
    const by = new Map<string, EscalationCount>(deps.providers.map((p) => [p, { provider: p, open: 0, overdue: 0 }]));
    for (const e of entries) {
      const provider = providerOf.get(e.id) ?? 'unknown';
      let c = by.get(provider);
      if (!c) by.set(provider, (c = { provider, open: 0, overdue: 0 }));
      c.open += 1;
      if (e.since <= overdueBefore) c.overdue += 1;
    }
    return [...by.values()];
  };
}
