import { describe, expect, it } from 'vitest';
import {
  classifyStatus,
  classifyThrown,
  parseRetryAfter,
  PermanentError,
  RateLimitedError,
  RetryableError,
} from '../../src/providers/errors.js';
import { fixedClock } from '../../src/lib/clock.js';

const NOW = fixedClock('2026-05-01T12:00:00.000Z').now();
const httpDate = (offsetMs: number): string => new Date(NOW.getTime() + offsetMs).toUTCString();

describe('classifyStatus', () => {
  const opts = { retryAfter: null, now: NOW, message: 'provider said no' };

  it.each([400, 401, 403, 404, 409, 422])('classifies %i as permanent', (status) => {
    const err = classifyStatus(status, { ...opts, details: [{ field: 'email', message: 'invalid' }] });
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.name).toBe('PermanentError');
    expect(err.message).toBe('provider said no');
    const p = err as PermanentError;
    expect(p.status).toBe(status);
    expect(p.details).toEqual([{ field: 'email', message: 'invalid' }]);
  });

  it('gives a permanent error empty details when the provider sent none', () => {
    expect((classifyStatus(400, opts) as PermanentError).details).toEqual([]);
  });

  it.each([408, 500, 502, 503, 504])('classifies %i as retryable', (status) => {
    const err = classifyStatus(status, opts);
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.name).toBe('RetryableError');
    expect((err as RetryableError).status).toBe(status);
    expect(err.message).toBe('provider said no');
  });

  it('classifies 429 as rate limited with the Retry-After delay', () => {
    const err = classifyStatus(429, { ...opts, retryAfter: '7' });
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err.name).toBe('RateLimitedError');
    expect((err as RateLimitedError).retryAfterMs).toBe(7_000);
  });

  it('classifies 429 with an HTTP-date Retry-After against the injected clock', () => {
    const err = classifyStatus(429, { ...opts, retryAfter: httpDate(12_000) });
    expect((err as RateLimitedError).retryAfterMs).toBe(12_000);
  });

  it('classifies 429 without Retry-After with the default delay', () => {
    expect((classifyStatus(429, opts) as RateLimitedError).retryAfterMs).toBe(1_000);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['5', 5_000],
    ['0', 0],
    ['1.5', 1_500],
    ['60', 60_000],
  ])('reads %s seconds', (v, ms) => {
    expect(parseRetryAfter(v, NOW)).toBe(ms);
  });

  it('caps long delays at 60 s', () => {
    expect(parseRetryAfter('120', NOW)).toBe(60_000);
    expect(parseRetryAfter('86400', NOW)).toBe(60_000);
    expect(parseRetryAfter(httpDate(3_600_000), NOW)).toBe(60_000);
  });

  it('never returns a negative delay', () => {
    expect(parseRetryAfter('-3', NOW)).toBe(0);
    expect(parseRetryAfter(httpDate(-30_000), NOW)).toBe(0);
  });

  it('reads an HTTP date relative to the injected now', () => {
    const local = fixedClock('2026-05-01T12:00:00.000Z');
    expect(parseRetryAfter('Fri, 01 May 2026 12:00:45 GMT', local.now())).toBe(45_000);
    local.advance(10_000);
    expect(parseRetryAfter('Fri, 01 May 2026 12:00:45 GMT', local.now())).toBe(35_000);
    expect(parseRetryAfter(httpDate(30_000), NOW)).toBe(30_000);
  });

  it.each([null, '', 'soon', 'later please', 'Infinity'])('falls back to 1 s for %j', (v) => {
    expect(parseRetryAfter(v, NOW)).toBe(1_000);
  });

  it('falls back to 1 s for garbage that V8 would read as a date', () => {
    expect(parseRetryAfter('abc 1', NOW)).toBe(1_000);
  });
});

describe('classifyThrown', () => {
  it('wraps a network error as retryable and keeps the cause', () => {
    const cause = new TypeError('fetch failed');
    const err = classifyThrown(cause);
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain('TypeError: fetch failed');
    expect(err.cause).toBe(cause);
  });

  it('wraps a timeout as retryable', () => {
    const abort = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    expect(classifyThrown(abort)).toBeInstanceOf(RetryableError);
  });

  it('passes an already classified error through unchanged', () => {
    const permanent = new PermanentError('bad', 400);
    const limited = new RateLimitedError(500);
    expect(classifyThrown(permanent)).toBe(permanent);
    expect(classifyThrown(limited)).toBe(limited);
  });

  it('handles a thrown non-error', () => {
    const err = classifyThrown('boom');
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain('network error');
  });
});
