/**
 * Case stores on the suite's Redis under one fresh prefix, for tests of the store itself. Each
 * `open()` is a store as one process holds it (its own remembered links and snapshots): two on
 * the prefix are two processes. The prefix is dropped and the connection closed after the file.
 */
import { afterAll } from 'vitest';
import { ApplicantSchema } from '../../src/kyc/applicant.js';
import { createCaseStore, type CaseStore } from '../../src/store/case-store.js';
import { connectRedis, dropPrefix, uniquePrefix } from './redis.js';
import { applicant } from './stack.js';

export function caseStores(now: Date) {
  const prefix = uniquePrefix();
  const redis = connectRedis();
  afterAll(async () => {
    redis.disconnect();
    await dropPrefix(prefix);
  });
  const open = (): CaseStore => createCaseStore({ redis, prefix, policy: { maxAttempts: 3 }, pollSchedule: [60_000] });
  const newCase = async (store: CaseStore) => (await store.create('kira', ApplicantSchema.parse(applicant()), now)).case;
  return { prefix, redis, open, newCase };
}
