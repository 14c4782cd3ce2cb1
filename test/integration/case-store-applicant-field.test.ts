/**
 * The applicant lives in a field of the case hash of its own (`app`), apart from the rest of the
 * case (`doc`): most transitions leave it as it was and then do not write it again. A record
 * written before that split (the applicant inside `doc`) must still read whole, and moves its
 * applicant to the field on its next write.
 */
import { describe, expect, it } from 'vitest';
import type { Applicant } from '../../src/kyc/applicant.js';
import { caseStores } from '../helpers/case-store.js';

describe('case store: the applicant field', () => {
  const now = new Date('2026-03-01T00:00:00.000Z');
  const { redis, open, newCase } = caseStores(now);

  async function stored(caseKey: string): Promise<{ doc: Record<string, unknown>; app: Applicant | null }> {
    const [doc, app] = await redis.hmget(caseKey, 'doc', 'app');
    return { doc: JSON.parse(doc!) as Record<string, unknown>, app: app ? (JSON.parse(app) as Applicant) : null };
  }

  it('writes the applicant with the case, and again only when a transition changes it', async () => {
    const store = open();
    const c = await newCase(store);
    const key = store.keys.case(c.id);
    const created = await stored(key);
    expect(created.doc).not.toHaveProperty('applicant');
    expect(created.doc).toMatchObject({ id: c.id, status: 'queued', externalId: c.externalId });
    expect(created.app).toEqual(c.applicant);

    // Tamper with the stored applicant: a write that leaves the applicant alone must not restore it.
    await redis.hset(key, 'app', JSON.stringify({ ...c.applicant, occupation: 'marker' }));
    await open().apply(c.id, { kind: 'create_started' }, { now });
    expect((await stored(key)).app?.occupation).toBe('marker');

    const updated = await open().apply(c.id, { kind: 'applicant_updated', patch: { occupation: 'teacher' } }, { now });
    expect(updated.outcome).toBe('applied');
    expect((await stored(key)).app).toEqual({ ...c.applicant, occupation: 'teacher' });
    expect(await open().get(c.id)).toMatchObject({ status: 'creating', version: 3, applicant: { occupation: 'teacher', email: c.applicant.email } });
  });

  it('reads a record that holds the applicant in its doc, and moves it to its field on the next write', async () => {
    const store = open();
    const c = await newCase(store);
    const key = store.keys.case(c.id);
    // The record as the store wrote it before the split.
    const { doc } = await stored(key);
    await redis.hset(key, 'doc', JSON.stringify({ ...doc, applicant: c.applicant }));
    await redis.hdel(key, 'app');

    const reader = open();
    expect(await reader.get(c.id)).toMatchObject({ status: 'queued', version: 1, applicant: c.applicant });
    const res = await reader.apply(c.id, { kind: 'create_started' }, { now });
    expect(res.outcome).toBe('applied');
    const moved = await stored(key);
    expect(moved.doc).not.toHaveProperty('applicant');
    expect(moved.app).toEqual(c.applicant);
    expect(await open().get(c.id)).toMatchObject({ status: 'creating', version: 2, applicant: c.applicant });
  });
});
