import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicantSchema } from '../../src/kyc/applicant.js';
import { createCaseStore } from '../../src/store/case-store.js';
import { pool } from '../helpers/client.js';
import { connectRedis, dropPrefix, uniquePrefix } from '../helpers/redis.js';
import { applicant } from '../helpers/stack.js';

describe('case store list', () => {
  const prefix = uniquePrefix();
  const redis = connectRedis();
  const store = createCaseStore({ redis, prefix, policy: { maxAttempts: 3 }, pollSchedule: [60_000] });
  let rare = '';

  beforeAll(async () => {
    await pool(Array.from({ length: 1_050 }, (_, i) => i), 32, async (i) => {
      await store.create('kira', ApplicantSchema.parse(applicant()), new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)));
    });
    rare = (await store.create('wealthyhood', ApplicantSchema.parse(applicant()), new Date(Date.UTC(2026, 0, 2)))).case.id;
  });
  afterAll(async () => {
    redis.disconnect();
    await dropPrefix(prefix);
  });

  it('never ends a filtered listing early: a short page carries the cursor to go on', async () => {
    const found: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.list({ provider: 'wealthyhood', limit: 50, cursor });
      found.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(found).toEqual([rare]);
    expect(pages).toBe(2);
  });

  it('pages through every case oldest first, with no cursor after the last page', async () => {
    const seen = new Set<string>();
    let cursor: string | undefined;
    let last = '';
    do {
      const page = await store.list({ limit: 200, cursor });
      for (const c of page.items) {
        expect(c.createdAt >= last).toBe(true);
        last = c.createdAt;
        seen.add(c.id);
      }
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.size).toBe(1_051);
  });
});
