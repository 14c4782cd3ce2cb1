/**
 * The hash-chained, append-only case timeline: each entry stores the hash of the previous one,
 * so editing, removing or reordering any entry breaks the chain from that point on.
 */
import { createHash } from 'node:crypto';
import type { TimelineEntry } from './types.js';

export const GENESIS_HASH = '0'.repeat(64);

export function entryHash(entry: Omit<TimelineEntry, 'hash'>): string {
  const { seq, at, source, event, from, to, reasons, detail, prevHash } = entry;
  const canonical = JSON.stringify([seq, at, source, event, from, to, reasons ?? null, detail ?? null, prevHash]);
  return createHash('sha256').update(canonical).digest('hex');
}

export function chainEntry(entry: Omit<TimelineEntry, 'hash' | 'prevHash'>, prevHash: string): TimelineEntry {
  const withPrev = { ...entry, prevHash };
  return { ...withPrev, hash: entryHash(withPrev) };
}

export type ChainVerdict = { ok: true; entries: number } | { ok: false; brokenAt: number; problem: string };

/** Finds the first broken link, if any. */
export function verifyChain(entries: readonly TimelineEntry[], expectedHead?: string): ChainVerdict {
  let prev = GENESIS_HASH;
  for (const [i, e] of entries.entries()) {
    if (e.seq !== i) return { ok: false, brokenAt: i, problem: `entry ${i} has seq ${e.seq}` };
    if (e.prevHash !== prev) return { ok: false, brokenAt: i, problem: `entry ${i} does not point at the hash of entry ${i - 1}` };
    const { hash: _h, ...rest } = e;
    if (entryHash(rest) !== e.hash) return { ok: false, brokenAt: i, problem: `entry ${i} was modified after it was written` };
    prev = e.hash;
  }
  if (expectedHead !== undefined && expectedHead !== prev) {
    return { ok: false, brokenAt: entries.length, problem: 'entries are missing after the last one (head hash differs)' };
  }
  return { ok: true, entries: entries.length };
}
