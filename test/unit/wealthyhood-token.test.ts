/**
 * The Wealthyhood token cache: refresh shortly before expiry (injected clock), one in-flight
 * request for concurrent callers, and renew-after-401 semantics.
 */
import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { createTokenSource, REFRESH_MARGIN_MS } from '../../src/providers/wealthyhood/token.js';
import { tokenUrl } from '../../src/providers/wealthyhood/index.js';

function source(expiresInS = 3600) {
  const clock = fixedClock('2026-01-01T00:00:00Z');
  let issued = 0;
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;
  const tokens = createTokenSource({
    clock,
    issue: async () => {
      issued += 1;
      if (gate) await gate;
      return { accessToken: `t${issued}`, expiresInS };
    },
  });
  return {
    clock,
    tokens,
    issued: () => issued,
    hold() {
      gate = new Promise((r) => (release = r));
    },
    release: () => release?.(),
  };
}

describe('Wealthyhood token source', () => {
  it('reuses the token until shortly before expires_in, then requests a new one', async () => {
    const s = source(3600);
    expect(await s.tokens.get()).toBe('t1');
    s.clock.advance(3600_000 - REFRESH_MARGIN_MS - 1);
    expect(await s.tokens.get()).toBe('t1');
    s.clock.advance(1);
    expect(await s.tokens.get()).toBe('t2');
    expect(s.issued()).toBe(2);
  });

  it('refreshes a short-lived token at half its lifetime', async () => {
    const s = source(10);
    await s.tokens.get();
    s.clock.advance(4_999);
    expect(await s.tokens.get()).toBe('t1');
    s.clock.advance(1);
    expect(await s.tokens.get()).toBe('t2');
  });

  it('shares one in-flight request between concurrent callers', async () => {
    const s = source();
    s.hold();
    const all = Promise.all([s.tokens.get(), s.tokens.get(), s.tokens.renew('old')]);
    s.release();
    expect(await all).toEqual(['t1', 't1', 't1']);
    expect(s.issued()).toBe(1);
  });

  it('renews once after a 401, and not again for a token another caller already replaced', async () => {
    const s = source();
    const first = await s.tokens.get();
    expect(await s.tokens.renew(first)).toBe('t2');
    expect(await s.tokens.renew(first)).toBe('t2');
    expect(s.issued()).toBe(2);
  });

  it('builds the Auth0 token URL from a tenant URL or a full token URL', () => {
    expect(tokenUrl('https://tenant.eu.auth0.com')).toBe('https://tenant.eu.auth0.com/oauth/token');
    expect(tokenUrl('https://tenant.eu.auth0.com/')).toBe(
      'https://tenant.eu.auth0.com/oauth/token',
    );
    expect(tokenUrl('https://tenant.eu.auth0.com/oauth/token')).toBe(
      'https://tenant.eu.auth0.com/oauth/token',
    );
  });
});
