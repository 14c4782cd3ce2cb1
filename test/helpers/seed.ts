/**
 * Cases seeded straight through the case store (the same code the service runs), already linked
 * to a provider user and awaiting verification: for fault tests about what happens *after* the
 * create, where thousands of creates at the provider's 20 req/s would only cost time.
 */
import { Redis } from 'ioredis';
import { ApplicantSchema } from '../../src/kyc/applicant.js';
import type { CaseStatus } from '../../src/kyc/types.js';
import { createCaseStore } from '../../src/store/case-store.js';
import { storeKeys } from '../../src/store/keys.js';
import { pool } from './client.js';
import { applicant } from './stack.js';

export interface SeededCase { caseId: string; userId: string; externalId: string }

export async function seedAwaitingCases(o: { redisUrl: string; prefix: string; count: number; provider?: 'kira' }): Promise<SeededCase[]> {
  const redis = new Redis(o.redisUrl, { maxRetriesPerRequest: 3 });
  const store = createCaseStore({ redis, prefix: o.prefix, policy: { maxAttempts: 3 }, pollSchedule: [3_600_000] });
  try {
    return await pool(Array.from({ length: o.count }, (_, i) => i), 32, async (i) => {
      const a = ApplicantSchema.parse(applicant());
      const { case: c } = await store.create(o.provider ?? 'kira', a, new Date());
      const userId = `u-${o.prefix.replace(/\W/g, '')}-${i}`;
      const res = await store.apply(c.id, { kind: 'user_created', providerUserId: userId, providerStatus: 'CREATED', adopted: false }, { now: new Date(), inputKey: 'create:0' });
      if (res.outcome !== 'applied') throw new Error(`seeding case ${c.id}: ${res.outcome}`);
      return { caseId: c.id, userId, externalId: a.externalId };
    });
  } finally {
    redis.disconnect();
  }
}

/** Ids of the cases in `status`, read from the store's status index (one call, any count). */
export async function statusMembers(redisUrl: string, prefix: string, status: CaseStatus): Promise<string[]> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    return await redis.zrange(storeKeys(prefix).status(status), '0', '-1');
  } finally {
    redis.disconnect();
  }
}
