/**
 * Provider user → case links: written once with the create's transition, then remembered by the
 * process that wrote or read them (the events that follow a create are routed without a round
 * trip); a user not linked yet is asked of Redis every time, so a link another process writes
 * is found at once.
 */
import { describe, expect, it } from 'vitest';
import { caseStores } from '../helpers/case-store.js';

describe('case store: provider-user links', () => {
  const now = new Date('2026-03-01T00:00:00.000Z');
  const { redis, open, newCase } = caseStores(now);

  it('finds the case of a user this process linked without asking Redis, and a user another process linked at once', async () => {
    const here = open();
    const elsewhere = open();
    const mine = await newCase(here);
    const theirs = await newCase(elsewhere);
    // Not linked yet: asked every time, never remembered as missing.
    expect(await here.findByProviderUser('kira', 'u-theirs')).toBeNull();
    await here.apply(mine.id, { kind: 'user_created', providerUserId: 'u-mine', adopted: false }, { now });
    await elsewhere.apply(theirs.id, { kind: 'user_created', providerUserId: 'u-theirs', adopted: false }, { now });
    expect(await here.findByProviderUser('kira', 'u-theirs')).toBe(theirs.id);
    expect(await here.findByProviderUser('kira', 'u-mine')).toBe(mine.id);

    // Both links are now remembered here: with the index gone from Redis, this process still
    // routes them; a process that never saw them finds nothing (Redis was the only place asked).
    await redis.del(here.keys.byProviderUser('kira', 'u-mine'), here.keys.byProviderUser('kira', 'u-theirs'));
    expect(await here.findByProviderUser('kira', 'u-mine')).toBe(mine.id);
    expect(await here.findByProviderUser('kira', 'u-theirs')).toBe(theirs.id);
    expect(await open().findByProviderUser('kira', 'u-mine')).toBeNull();
    // Per provider: the same user id at another provider is another user.
    expect(await here.findByProviderUser('kraken', 'u-mine')).toBeNull();
  });
});
