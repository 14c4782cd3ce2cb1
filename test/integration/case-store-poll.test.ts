/**
 * The store schedules a waiting case's next poll by the case's age in its current status: a
 * timeline entry that changes no status (a provider status note) does not start the schedule
 * again; a change of status does.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ApplicantSchema } from '../../src/kyc/applicant.js';
import { fixedClock } from '../../src/lib/clock.js';
import { createCaseStore } from '../../src/store/case-store.js';
import { connectRedis, dropPrefix, uniquePrefix } from '../helpers/redis.js';
import { applicant } from '../helpers/stack.js';

const MIN = 60_000;

describe('case store: poll schedule by age in status', () => {
  const prefix = uniquePrefix();
  const redis = connectRedis();
  const store = createCaseStore({ redis, prefix, policy: { maxAttempts: 3 }, pollSchedule: [MIN, 5 * MIN, 15 * MIN] });
  afterAll(async () => {
    redis.disconnect();
    await dropPrefix(prefix);
  });
  const score = async (id: string) => Number(await redis.zscore(store.keys.reconcile(), id));
  const note = (status: string) => ({
    kind: 'provider_event' as const,
    event: { provider: 'kira' as const, providerEventId: `e-${status}`, type: 'user.status_changed', userRef: 'u-1', source: 'webhook' as const, providerStatus: status, outcome: 'pending' as const, terminal: false, reasons: [] },
  });

  it('keeps the age across entries that change no status, and restarts it on a change of status', async () => {
    const clock = fixedClock('2026-03-01T00:00:00.000Z');
    const { case: c } = await store.create('kira', ApplicantSchema.parse(applicant()), clock.now());
    await store.apply(c.id, { kind: 'user_created', providerUserId: 'u-1', adopted: false }, { now: clock.now() });
    const linkedAt = clock.now().getTime();
    expect(await score(c.id)).toBe(linkedAt + MIN);

    clock.advance(3 * MIN);
    const noted = await store.apply(c.id, note('VERIFYING'), { now: clock.now() });
    expect(noted.outcome).toBe('applied');
    await store.schedulePoll((await store.get(c.id))!, clock.now());
    // 3 min in the status: the second step (5 min), not the first again
    expect(await score(c.id)).toBe(clock.now().getTime() + 5 * MIN);
    expect((await store.get(c.id))!.statusSince).toBe(new Date(linkedAt).toISOString());

    clock.advance(MIN);
    const rejected = await store.apply(c.id, { kind: 'provider_event', event: { ...note('REJECTED').event, providerEventId: 'e-rej', type: 'user.verification.failed', outcome: 'rejected', terminal: true, reasons: [{ code: 'session_expired', providerText: 'Verification session expired' }] } }, { now: clock.now() });
    expect(rejected.outcome === 'applied' && rejected.case.status).toBe('remediating');
    expect(await score(c.id)).toBe(clock.now().getTime() + MIN);
  });
});
