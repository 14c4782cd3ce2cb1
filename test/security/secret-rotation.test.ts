/**
 * Webhook secret rotation, Kira and Kraken: with `KIRA_WEBHOOK_SECRETS=new,old` (and
 * `KRAKEN_WEBHOOK_SECRETS=new,old`) webhooks signed with either secret are accepted during the
 * overlap; once the service restarts with only the new one, a webhook signed with the old secret
 * is refused 401 and changes nothing, while the new secret still works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRETS, type Stack } from '../helpers/stack.js';
import { dropPrefix, REDIS_URL } from '../helpers/redis.js';
import {
  caseOf, deliverKira, deliverKraken, eventsSettled, kiraEvent, KRAKEN_SECRETS, krakenEvent, onboard,
  startFullStack, startProviders, stopKeepingData, until, type Providers,
} from './stacks.js';
import { changedKeys, redisSnapshot } from './tools.js';

const [KIRA_NEW, KIRA_OLD] = SECRETS as [string, string];
const [KRAKEN_NEW, KRAKEN_OLD] = KRAKEN_SECRETS as [string, string];

let p: Providers;
let overlap: Stack;
let prefix: string;
let overlapRunning = false;
/** Cases still awaiting a decision when the old secrets are removed. */
let waiting: { kira: any; kraken: any };

beforeAll(async () => {
  p = await startProviders();
  overlap = await startFullStack(p, { env: { KIRA_WEBHOOK_SECRETS: `${KIRA_NEW},${KIRA_OLD}`, KRAKEN_WEBHOOK_SECRETS: `${KRAKEN_NEW},${KRAKEN_OLD}` } });
  prefix = overlap.config.QUEUE_PREFIX;
  overlapRunning = true;
});
afterAll(async () => {
  if (overlapRunning) await stopKeepingData(overlap);
  await dropPrefix(prefix, REDIS_URL);
  await p?.close();
});

describe('webhook secret rotation', () => {
  it('accepts webhooks signed with the new and with the old secret during the overlap', async () => {
    const [k1, k2, kr1, kr2, k3, kr3] = await Promise.all([
      onboard(overlap, 'kira', 'awaiting_verification'), onboard(overlap, 'kira', 'awaiting_verification'),
      onboard(overlap, 'kraken', 'awaiting_verification'), onboard(overlap, 'kraken', 'awaiting_verification'),
      onboard(overlap, 'kira', 'awaiting_verification'), onboard(overlap, 'kraken', 'awaiting_verification'),
    ]);
    expect((await deliverKira(overlap.url, kiraEvent('user.verification.accepted', k1.providerUserId), KIRA_NEW)).status).toBe(202);
    expect((await deliverKira(overlap.url, kiraEvent('user.verification.accepted', k2.providerUserId), KIRA_OLD)).status).toBe(202);
    expect((await deliverKraken(overlap.url, krakenEvent('user.verified', kr1.providerUserId), { secret: KRAKEN_NEW })).status).toBe(202);
    expect((await deliverKraken(overlap.url, krakenEvent('user.verified', kr2.providerUserId), { secret: KRAKEN_OLD })).status).toBe(202);
    await Promise.all([k1, k2, kr1, kr2].map((c) => until(overlap, c.caseId, 'verified')));
    waiting = { kira: k3, kraken: kr3 };
  });

  it('refuses the old secret with 401 once the service restarted without it, and nothing changes', async () => {
    await eventsSettled(overlap);
    await stopKeepingData(overlap);
    overlapRunning = false;
    const rotated = await startFullStack(p, { env: { QUEUE_PREFIX: prefix, KIRA_WEBHOOK_SECRETS: KIRA_NEW, KRAKEN_WEBHOOK_SECRETS: KRAKEN_NEW } });
    try {
      const before = { kira: await caseOf(rotated, waiting.kira.caseId), kraken: await caseOf(rotated, waiting.kraken.caseId), redis: await redisSnapshot(prefix) };
      const kiraBody = kiraEvent('user.verification.accepted', waiting.kira.providerUserId);
      const krakenBody = krakenEvent('user.verified', waiting.kraken.providerUserId);
      const refused = [await deliverKira(rotated.url, kiraBody, KIRA_OLD), await deliverKraken(rotated.url, krakenBody, { secret: KRAKEN_OLD })];
      expect(refused.map((r) => r.status)).toEqual([401, 401]);
      for (const r of refused) expect(JSON.parse(r.body)).toMatchObject({ status: 401, detail: 'missing or invalid signature' });
      expect(await caseOf(rotated, waiting.kira.caseId)).toEqual(before.kira);
      expect(await caseOf(rotated, waiting.kraken.caseId)).toEqual(before.kraken);
      const touched = changedKeys(before.redis, await redisSnapshot(prefix)).filter((k) => /:(case|status|cases|ext|puser|reconcile|kyc-events:de)(:|$)/.test(k.slice(prefix.length)));
      expect(touched).toEqual([]);
      // The same events signed with the new secret: accepted (new to the queue), and they decide.
      expect(JSON.parse((await deliverKira(rotated.url, kiraBody, KIRA_NEW)).body)).toEqual({ received: true, duplicate: false });
      expect(JSON.parse((await deliverKraken(rotated.url, krakenBody, { secret: KRAKEN_NEW })).body)).toEqual({ received: true, duplicate: false });
      await until(rotated, waiting.kira.caseId, 'verified');
      await until(rotated, waiting.kraken.caseId, 'verified');
    } finally {
      await stopKeepingData(rotated);
    }
  });
});
