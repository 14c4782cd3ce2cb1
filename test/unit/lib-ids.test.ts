import { describe, expect, it } from 'vitest';
import { caseIdempotencyKey, newId, uuidFromSeed } from '../../src/lib/ids.js';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidFromSeed', () => {
  it('returns the same id for the same seed', () => {
    expect(uuidFromSeed('case-1:create:0')).toBe(uuidFromSeed('case-1:create:0'));
  });

  it('is stable across releases: keys sent before a deploy must match keys sent after it', () => {
    // sha256('') = e3b0c442 98fc1c14 9afbf4c8 996fb924…, with the version and variant bits set.
    expect(uuidFromSeed('')).toBe('e3b0c442-98fc-4c14-9afb-f4c8996fb924');
  });

  it('returns v4-shaped ids', () => {
    for (let i = 0; i < 500; i++) expect(uuidFromSeed(`seed-${i}`)).toMatch(V4);
  });

  it('returns different ids for different seeds', () => {
    const ids = new Set(Array.from({ length: 1000 }, (_, i) => uuidFromSeed(`case-${i}`)));
    expect(ids.size).toBe(1000);
    expect(uuidFromSeed('a')).not.toBe(uuidFromSeed('A'));
    expect(uuidFromSeed('case-1')).not.toBe(uuidFromSeed('case-1 '));
  });
});

describe('caseIdempotencyKey', () => {
  it('is deterministic per case, purpose and round', () => {
    expect(caseIdempotencyKey('case-1', 'create', 0)).toBe(caseIdempotencyKey('case-1', 'create', 0));
    expect(caseIdempotencyKey('case-1', 'create', 0)).toMatch(V4);
  });

  it('differs when the case, the purpose or the round differs', () => {
    const keys = [
      caseIdempotencyKey('case-1', 'create', 0),
      caseIdempotencyKey('case-2', 'create', 0),
      caseIdempotencyKey('case-1', 'reissue', 0),
      caseIdempotencyKey('case-1', 'create', 1),
      caseIdempotencyKey('case-1', 'reissue', 1),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('newId', () => {
  it('returns a fresh v4 uuid every time', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(V4);
  });
});
