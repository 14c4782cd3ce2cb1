import { describe, expect, it } from 'vitest';
import { BACKOFF_CAP_MS, cappedJitterBackoff } from '../../src/queue/backoff.js';

const BASE = 1_000;
const exp = (attemptsMade: number): number => Math.min(BACKOFF_CAP_MS, BASE * 2 ** Math.max(0, attemptsMade - 1));

/** A deterministic stand-in for Math.random: cycles through the given values. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('cappedJitterBackoff', () => {
  it('caps at five minutes', () => {
    expect(BACKOFF_CAP_MS).toBe(300_000);
    for (const attempts of [10, 20, 60, 1_000]) {
      expect(cappedJitterBackoff(attempts, BASE, () => 0.999999)).toBeLessThanOrEqual(300_000);
      expect(cappedJitterBackoff(attempts, BASE, () => 0)).toBe(150_000);
    }
  });

  it.each([1, 2, 3, 5, 8, 12])('stays between exp/2 and exp on attempt %i', (attempts) => {
    expect(cappedJitterBackoff(attempts, BASE, () => 0)).toBe(exp(attempts) / 2);
    expect(cappedJitterBackoff(attempts, BASE, () => 1)).toBe(exp(attempts));
    expect(cappedJitterBackoff(attempts, BASE, () => 0.5)).toBe((exp(attempts) * 3) / 4);
  });

  it('stays within bounds with the real random source', () => {
    for (let attempts = 1; attempts <= 15; attempts++) {
      for (let n = 0; n < 50; n++) {
        const d = cappedJitterBackoff(attempts, BASE);
        expect(d).toBeGreaterThanOrEqual(exp(attempts) / 2);
        expect(d).toBeLessThanOrEqual(exp(attempts));
      }
    }
  });

  it('jitters: different random draws give different delays', () => {
    const random = sequence(0.1, 0.9);
    expect(cappedJitterBackoff(4, BASE, random)).not.toBe(cappedJitterBackoff(4, BASE, random));
  });

  it('doubles per attempt until the cap', () => {
    const delays = Array.from({ length: 12 }, (_, i) => cappedJitterBackoff(i + 1, BASE, () => 1));
    expect(delays.slice(0, 9)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000]);
    expect(delays.slice(9)).toEqual([300_000, 300_000, 300_000]);
  });

  it('grows: the shortest delay of a later attempt is never below the shortest of an earlier one', () => {
    let prev = 0;
    for (let attempts = 1; attempts <= 20; attempts++) {
      const min = cappedJitterBackoff(attempts, BASE, () => 0);
      expect(min).toBeGreaterThanOrEqual(prev);
      prev = min;
    }
    expect(cappedJitterBackoff(2, BASE, () => 0)).toBeGreaterThan(cappedJitterBackoff(1, BASE, () => 0));
  });

  it('treats attempt 0 like the first attempt', () => {
    expect(cappedJitterBackoff(0, BASE, () => 1)).toBe(BASE);
  });

  it('scales with the base delay', () => {
    expect(cappedJitterBackoff(3, 250, () => 1)).toBe(1_000);
  });

  it('returns whole milliseconds', () => {
    expect(Number.isInteger(cappedJitterBackoff(3, 333, () => 0.123))).toBe(true);
  });
});
