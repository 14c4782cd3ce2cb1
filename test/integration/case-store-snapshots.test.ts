/**
 * Remembered snapshots (case-store.ts `apply`): the process that wrote a case decides the case's
 * next input on what it wrote, without reading it back. Another process's change in between must
 * never be overwritten or missed: the compare-and-set refuses the stale write, and "nothing to
 * do" or a conflict decided on a remembered snapshot is decided again on a fresh read.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { ProviderEvent } from '../../src/kyc/types.js';
import { masters } from '../../src/queue/redis.js';
import { caseStores } from '../helpers/case-store.js';
import type { CaseStore } from '../../src/store/case-store.js';
import { waitFor } from '../helpers/wait.js';

describe('case store: remembered snapshots', () => {
  const now = new Date('2026-03-01T00:00:00.000Z');
  const { prefix, redis, open, newCase } = caseStores(now);
  const event = (userRef: string, fields: Partial<ProviderEvent>): ProviderEvent => ({
    provider: 'kira', providerEventId: randomUUID(), type: 'user.status_changed', userRef, source: 'webhook',
    outcome: 'pending', terminal: false, reasons: [], ...fields,
  });

  /**
   * Runs `work` under MONITOR and counts the commands on one case's hash that scripts ran:
   * READ_CASE's HMGET is a read, APPLY's HGET of the version an attempt to write, its HSET a write.
   */
  async function commandsOnCase(caseKey: string, work: () => Promise<void>): Promise<(cmd: string) => number> {
    const sentinel = `${prefix}sentinel:${randomUUID()}`;
    const seen: string[][] = [];
    const monitors: Redis[] = await Promise.all(masters(redis).map((n) => n.monitor()));
    for (const m of monitors) m.on('monitor', (_t: string, args: string[]) => { seen.push(args); });
    try {
      await work();
      await redis.get(sentinel);
      await waitFor(() => seen.some((a) => a.includes(sentinel)), { what: 'the sentinel in MONITOR' });
    } finally {
      for (const m of monitors) m.disconnect();
    }
    return (cmd) => seen.filter((a) => a[0]?.toUpperCase() === cmd && a[1] === caseKey).length;
  }

  it('decides the input after its own write without reading the case', async () => {
    const store = open();
    const c = await newCase(store);
    const onCase = await commandsOnCase(store.keys.case(c.id), async () => {
      await store.apply(c.id, { kind: 'create_started' }, { now });
      await store.apply(c.id, { kind: 'user_created', providerUserId: 'u-snap', providerStatus: 'VERIFYING', adopted: false }, { now });
      await store.apply(c.id, { kind: 'provider_event', event: event('u-snap', { providerStatus: 'REVIEW' }) }, { now, inputKey: 'evt:1' });
    });
    // The first apply reads (this process never wrote the case); the two after it read nothing.
    expect(onCase('HMGET')).toBe(1);
    expect(onCase('HSET')).toBe(3);
    const stored = await store.get(c.id);
    expect(stored).toMatchObject({ status: 'awaiting_verification', providerStatus: 'REVIEW', version: 4 });
  });

  it('applies inputs that arrive together one after the other, each on the snapshot the one before wrote', async () => {
    const store = open();
    const c = await newCase(store);
    const first = await store.apply(c.id, { kind: 'user_created', providerUserId: 'u-both', providerStatus: 'VERIFYING', adopted: false }, { now });
    // A case's two webhooks, run side by side by one worker, started from the same snapshot.
    const current = first.outcome === 'applied' ? first.snapshot : undefined;
    let answers: Awaited<ReturnType<CaseStore['apply']>>[] = [];
    const onCase = await commandsOnCase(store.keys.case(c.id), async () => {
      answers = await Promise.all([
        store.apply(c.id, { kind: 'provider_event', event: event('u-both', { providerStatus: 'REVIEW' }) }, { now, inputKey: 'evt:r', current }),
        store.apply(c.id, { kind: 'provider_event', event: event('u-both', { type: 'user.verification.accepted', providerStatus: 'VERIFIED', outcome: 'verified', terminal: true }) }, { now, inputKey: 'evt:v', current }),
      ]);
    });
    expect(answers.map((a) => a.outcome)).toEqual(['applied', 'applied']);
    // Two writes, each attempted once, no read: side by side, one would have been refused and read again.
    expect(onCase('HGET')).toBe(2);
    expect(onCase('HSET')).toBe(2);
    expect(onCase('HMGET')).toBe(0);
    expect(await store.get(c.id)).toMatchObject({ status: 'verified', version: 4 });
    const { entries } = await store.timeline(c.id);
    expect(entries.map((e) => e.to)).toEqual(['queued', 'awaiting_verification', 'awaiting_verification', 'verified']);
    expect((await store.verifyAudit(c.id))?.ok).toBe(true);
  });

  it('goes on with a case after an apply of it failed', async () => {
    const store = open();
    const c = await newCase(store);
    // A refusal (resolve on a case that is not escalated) and, queued behind it, an apply that succeeds.
    const [refused, after] = await Promise.allSettled([
      store.apply(c.id, { kind: 'resolve', action: 'retry' }, { now }),
      store.apply(c.id, { kind: 'create_started' }, { now }),
    ]);
    expect(refused.status).toBe('rejected');
    expect(after.status === 'fulfilled' && after.value.outcome).toBe('applied');
    expect(await store.get(c.id)).toMatchObject({ status: 'creating', version: 2 });
  });

  /** A case linked to `userRef` by one store (`here`, which remembers what it wrote), and a second store on it (`elsewhere`). */
  async function linkedInTwoProcesses(userRef: string) {
    const here = open();
    const elsewhere = open();
    const c = await newCase(here);
    await here.apply(c.id, { kind: 'user_created', providerUserId: userRef, providerStatus: 'VERIFYING', adopted: false }, { now });
    return { here, elsewhere, c };
  }

  it('never overwrites a change another process made after its own write', async () => {
    const { here, elsewhere, c } = await linkedInTwoProcesses('u-race');
    // Another process moves the case on: what `here` remembers is now one version behind.
    const there = await elsewhere.apply(c.id, { kind: 'provider_event', event: event('u-race', { providerStatus: 'REVIEW' }) }, { now, inputKey: 'evt:a' });
    expect(there.outcome).toBe('applied');
    const res = await here.apply(c.id, { kind: 'provider_event', event: event('u-race', { providerStatus: 'VERIFIED', outcome: 'verified', terminal: true }) }, { now, inputKey: 'evt:b' });
    expect(res.outcome).toBe('applied');
    if (res.outcome !== 'applied') return;
    expect(res.previous).toMatchObject({ providerStatus: 'REVIEW', version: 3 });
    expect(await here.get(c.id)).toMatchObject({ status: 'verified', providerStatus: 'VERIFIED', version: 4 });
    const { entries } = await here.timeline(c.id);
    expect(entries.map((e) => [e.seq, e.event])).toEqual([[0, 'onboarding_received'], [1, 'provider_user_created'], [2, 'webhook:user.status_changed'], [3, 'webhook:user.status_changed']]);
    expect((await here.verifyAudit(c.id))?.ok).toBe(true);
  });

  it('decides "nothing to do" again on a fresh read when another process changed the case', async () => {
    const { here, elsewhere, c } = await linkedInTwoProcesses('u-noop');
    await elsewhere.apply(c.id, { kind: 'provider_event', event: event('u-noop', { providerStatus: 'REVIEW' }) }, { now, inputKey: 'evt:a' });
    // VERIFYING is nothing new to what `here` wrote, but it is to the case as it now stands.
    const res = await here.apply(c.id, { kind: 'provider_event', event: event('u-noop', { providerStatus: 'VERIFYING' }) }, { now, inputKey: 'evt:b' });
    expect(res.outcome).toBe('applied');
    expect(await here.get(c.id)).toMatchObject({ providerStatus: 'VERIFYING', version: 4 });
  });

  it('decides a refusal again on a fresh read when another process changed the case', async () => {
    const { here, elsewhere, c } = await linkedInTwoProcesses('u-conflict');
    // Escalated elsewhere (a rejection whose reason is unknown): `here` still holds it as awaiting verification.
    const escalated = await elsewhere.apply(c.id, { kind: 'provider_event', event: event('u-conflict', { type: 'user.verification.failed', providerStatus: 'REJECTED', outcome: 'rejected', terminal: true, reasons: [{ code: 'unknown', providerText: 'something new' }] }) }, { now, inputKey: 'evt:a' });
    expect(escalated.outcome === 'applied' && escalated.case.status).toBe('escalated');
    // On what `here` wrote, a resolve is refused (not escalated); on the case as it stands it is not.
    const res = await here.apply(c.id, { kind: 'resolve', action: 'retry', note: 'checked by hand' }, { now });
    expect(res.outcome).toBe('applied');
    expect(await here.get(c.id)).toMatchObject({ status: 'remediating', attempts: 1 });
    // A refusal that stands on the fresh read is still a refusal.
    await expect(open().apply(c.id, { kind: 'resolve', action: 'retry' }, { now })).rejects.toThrow(/not escalated/);
  });
});
