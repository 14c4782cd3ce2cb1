import { describe, expect, it } from 'vitest';
import { chainEntry, entryHash, GENESIS_HASH, verifyChain } from '../../src/kyc/audit.js';
import type { TimelineEntry } from '../../src/kyc/types.js';
import { fixedClock } from '../../src/lib/clock.js';

type Draft = Omit<TimelineEntry, 'hash' | 'prevHash' | 'seq'>;

const DRAFTS: Draft[] = [
  { at: '', source: 'api', event: 'onboarding_requested', from: null, to: 'queued' },
  { at: '', source: 'system', event: 'create_started', from: 'queued', to: 'creating' },
  { at: '', source: 'system', event: 'provider_user_created', from: 'creating', to: 'awaiting_verification' },
  {
    at: '',
    source: 'webhook',
    event: 'kira:user.verification.failed',
    from: 'awaiting_verification',
    to: 'remediating',
    reasons: [{ code: 'session_expired', providerText: 'Verification session expired' }],
    detail: 'update the provider profile and re-issue the verification',
  },
  { at: '', source: 'poll', event: 'kira:user.verification.accepted', from: 'remediating', to: 'verified' },
];

function buildChain(): TimelineEntry[] {
  const clock = fixedClock('2026-05-01T12:00:00.000Z');
  const out: TimelineEntry[] = [];
  let prev = GENESIS_HASH;
  for (const [seq, d] of DRAFTS.entries()) {
    const e = chainEntry({ ...d, seq, at: clock.now().toISOString() }, prev);
    out.push(e);
    prev = e.hash;
    clock.advance(1_000);
  }
  return out;
}

const head = (entries: readonly TimelineEntry[]): string => entries[entries.length - 1]!.hash;

describe('chainEntry', () => {
  it('links each entry to the hash of the previous one, starting at the genesis hash', () => {
    const chain = buildChain();
    expect(chain[0]!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < chain.length; i++) expect(chain[i]!.prevHash).toBe(chain[i - 1]!.hash);
  });

  it('stores the SHA-256 hex of the entry', () => {
    const [e] = buildChain();
    expect(e!.hash).toMatch(/^[0-9a-f]{64}$/);
    const { hash: _h, ...rest } = e!;
    expect(entryHash(rest)).toBe(e!.hash);
  });

  it('gives distinct hashes to distinct entries', () => {
    expect(new Set(buildChain().map((e) => e.hash)).size).toBe(DRAFTS.length);
  });
});

describe('entryHash', () => {
  const [base] = buildChain();
  const { hash: _h, ...rest } = base!;

  it.each([
    ['seq', { seq: 7 }],
    ['at', { at: '2026-05-01T12:00:00.001Z' }],
    ['source', { source: 'operator' }],
    ['event', { event: 'something_else' }],
    ['from', { from: 'creating' }],
    ['to', { to: 'rejected' }],
    ['reasons', { reasons: [{ code: 'unknown', providerText: 'x' }] }],
    ['detail', { detail: 'edited' }],
    ['prevHash', { prevHash: 'f'.repeat(64) }],
  ] as const)('changes when %s changes', (_field, change) => {
    expect(entryHash({ ...rest, ...change } as Omit<TimelineEntry, 'hash'>)).not.toBe(entryHash(rest));
  });

  it('is stable for equal entries', () => {
    expect(entryHash({ ...rest })).toBe(entryHash(rest));
  });
});

describe('verifyChain', () => {
  it('accepts an intact chain', () => {
    const chain = buildChain();
    expect(verifyChain(chain)).toEqual({ ok: true, entries: 5 });
  });

  it('accepts an intact chain whose head matches the expected head', () => {
    const chain = buildChain();
    expect(verifyChain(chain, head(chain))).toEqual({ ok: true, entries: 5 });
  });

  it('accepts an empty chain, and the genesis hash as its head', () => {
    expect(verifyChain([])).toEqual({ ok: true, entries: 0 });
    expect(verifyChain([], GENESIS_HASH)).toEqual({ ok: true, entries: 0 });
  });

  it.each([
    [0, { event: 'tampered' }],
    [2, { to: 'verified' }],
    [3, { detail: 'rewritten detail' }],
    [3, { reasons: [] }],
    [4, { at: '2027-01-01T00:00:00.000Z' }],
    [1, { source: 'operator' }],
  ] as const)('detects a field modified in entry %i', (index, change) => {
    const chain = buildChain();
    chain[index] = { ...chain[index]!, ...change } as TimelineEntry;
    const v = verifyChain(chain);
    expect(v).toMatchObject({ ok: false, brokenAt: index });
    expect(v.ok === false && v.problem).toMatch(/modified/);
  });

  it('detects a modified entry whose own hash was recomputed at the next entry', () => {
    const chain = buildChain();
    const { hash: _h, ...rest } = chain[2]!;
    const forged = { ...rest, to: 'verified' as const };
    chain[2] = { ...forged, hash: entryHash(forged) };
    expect(verifyChain(chain)).toMatchObject({ ok: false, brokenAt: 3 });
  });

  it.each([0, 2, 4])('detects entry %i being removed', (index) => {
    const chain = buildChain();
    chain.splice(index, 1);
    if (index === 4) {
      // Removing the last entry leaves a valid prefix: only the expected head can tell.
      expect(verifyChain(chain)).toEqual({ ok: true, entries: 4 });
      expect(verifyChain(chain, head(buildChain()))).toMatchObject({ ok: false, brokenAt: 4 });
    } else {
      expect(verifyChain(chain)).toMatchObject({ ok: false, brokenAt: index });
    }
  });

  it('detects a removed entry even when the later seq numbers were rewritten', () => {
    const chain = buildChain();
    chain.splice(1, 1);
    const renumbered = chain.map((e, i) => ({ ...e, seq: i }));
    expect(verifyChain(renumbered)).toMatchObject({ ok: false, brokenAt: 1 });
  });

  it('detects two entries swapped at the first swapped index', () => {
    const chain = buildChain();
    [chain[1], chain[2]] = [chain[2]!, chain[1]!];
    const v = verifyChain(chain);
    expect(v).toMatchObject({ ok: false, brokenAt: 1 });
    expect(v.ok === false && v.problem).toBe('entry 1 has seq 2');
  });

  it('detects reordered entries even when their seq numbers were rewritten', () => {
    const chain = buildChain();
    [chain[2], chain[3]] = [chain[3]!, chain[2]!];
    const renumbered = chain.map((e, i) => ({ ...e, seq: i }));
    const v = verifyChain(renumbered);
    expect(v).toMatchObject({ ok: false, brokenAt: 2 });
    expect(v.ok === false && v.problem).toMatch(/does not point at the hash of entry 1/);
  });

  it('detects a truncated tail through the expected head, at the index after the last entry', () => {
    const full = buildChain();
    const truncated = full.slice(0, 3);
    const v = verifyChain(truncated, head(full));
    expect(v).toMatchObject({ ok: false, brokenAt: 3 });
    expect(v.ok === false && v.problem).toMatch(/missing/);
  });

  it('detects an emptied chain through the expected head', () => {
    const full = buildChain();
    expect(verifyChain([], head(full))).toMatchObject({ ok: false, brokenAt: 0 });
  });

  it('detects a chain that does not start at the genesis hash', () => {
    const chain = buildChain();
    const { hash: _h, prevHash: _p, ...first } = chain[0]!;
    chain[0] = chainEntry(first, 'a'.repeat(64));
    expect(verifyChain(chain)).toMatchObject({ ok: false, brokenAt: 0 });
  });
});
