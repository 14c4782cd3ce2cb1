/**
 * What Redis keeps per case, by kind of key: SCAN every key, MEMORY USAGE each (all nested
 * values sampled), grouped by what the key is (case hash, timeline, dedupe key, job hash, …).
 */
import type { Redis } from 'ioredis';

const BULL_SUFFIXES = new Set([
  'wait', 'active', 'completed', 'failed', 'delayed', 'paused', 'prioritized', 'meta', 'id', 'events',
  'marker', 'stalled', 'stalled-check', 'limiter', 'pc', 'repeat', 'waiting-children', 'metrics', 'de',
]);

/** `{kyc}:case:<id>:tl` → `case:*:tl`; `{kyc}:kyc-events:<jobId>` → `kyc-events:job`; … */
export function keyKind(key: string): string {
  const parts = key.split(':').slice(1);
  const [head, second, third] = parts;
  if (head === 'case') return third ? `case:*:${third}` : 'case:* (hash)';
  if (head === 'ext' || head === 'puser') return `${head}:* (index)`;
  if (head === 'status') return 'status:* (zsets)';
  if (head === 'reconcile' && second === 'due') return 'reconcile:due (zset)';
  if (parts.length >= 2 && second && !BULL_SUFFIXES.has(second) && head && (head.startsWith('provider-') || ['kyc-events', 'reconcile', 'notifications'].includes(head))) {
    return parts.length > 2 ? `${head}:job:${parts.slice(2).join(':')}` : `${head}:job (hash)`;
  }
  if (second === 'de') return `${head}:de:* (dedupe)`;
  return parts.join(':');
}

export async function memoryBreakdown(r: Redis, cases: number): Promise<{ kind: string; keys: number; bytesPerCase: number }[]> {
  const bytes = new Map<string, { keys: number; bytes: number }>();
  let cursor = '0';
  do {
    const [next, found] = await r.scan(cursor, 'COUNT', 1000);
    cursor = next;
    const p = r.pipeline();
    for (const k of found) p.memory('USAGE', k, 'SAMPLES', 0);
    const sizes = (await p.exec()) ?? [];
    found.forEach((k, i) => {
      const kind = keyKind(k);
      const e = bytes.get(kind) ?? { keys: 0, bytes: 0 };
      e.keys += 1;
      e.bytes += Number(sizes[i]?.[1] ?? 0);
      bytes.set(kind, e);
    });
  } while (cursor !== '0');
  return [...bytes.entries()]
    .map(([kind, e]) => ({ kind, keys: e.keys, bytesPerCase: Math.round(e.bytes / cases) }))
    .filter((e) => e.bytesPerCase > 0)
    .sort((a, b) => b.bytesPerCase - a.bytesPerCase);
}
