/**
 * Replay protection.
 * - Kraken signs a timestamp: a webhook whose `t` is more than 300 s away (either direction) is
 *   refused 401 and changes nothing at all (no case change, nothing queued, its event id not
 *   consumed); a delivery captured and replayed once the service's clock is past the tolerance is
 *   refused the same way.
 * - Kira signs no timestamp: a replayed webhook is a no-op by its event id, also after the
 *   service restarts on the same Redis (the queue's dedupe key survives), and also once that key
 *   has expired (the case remembers the inputs it applied). A replay that got through would
 *   append a "rejection recorded while escalated" entry to the case's timeline.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { offsetClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import { signKrakenWebhook } from '../../src/providers/kraken/index.js';
import { startService, type Service } from '../../src/service.js';
import { dropPrefix, REDIS_URL } from '../helpers/redis.js';
import { applicant, testConfig, TOKEN, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import {
  caseOf, deliverKira, deliverKraken, eventsSettled, kiraEvent, KRAKEN_SECRETS, krakenEvent, onboard,
  startFullStack, startProviders, stopKeepingData, until,
} from './stacks.js';
import { changedKeys, redisSnapshot } from './tools.js';

const cleanups: (() => Promise<void>)[] = [];
const stopped = new WeakSet<Stack>();
/** Stops a stack's service and Kira simulator once (the Redis keys stay: a restart may follow). */
async function stopOnce(stack: Stack): Promise<void> {
  if (stopped.has(stack)) return;
  stopped.add(stack);
  await stopKeepingData(stack);
}
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Case keys only (workers and the reconcile tick keep changing BullMQ's own keys). */
const caseKeys = (prefix: string, keys: string[]) => keys.filter((k) => /:(case|status|cases|ext|puser|reconcile)(:|$)/.test(k.slice(prefix.length)));

async function eventJobs(stack: Pick<Stack, 'svc'>): Promise<number> {
  const q = stack.svc.producer.queues().find((x) => x.name === 'kyc-events')!;
  return Object.values(await q.getJobCounts()).reduce((a, b) => a + b, 0);
}

describe('Kraken: signed timestamps, 300 s tolerance', () => {
  it('refuses a webhook signed 301 s in the past or in the future with 401, and it changes nothing', async () => {
    const p = await startProviders();
    cleanups.push(() => p.close());
    const stack = await startFullStack(p);
    cleanups.push(() => stack.close());
    const c = await onboard(stack, 'kraken', 'awaiting_verification');
    await eventsSettled(stack);
    const prefix = stack.config.QUEUE_PREFIX;
    const before = { case: await caseOf(stack, c.caseId), redis: await redisSnapshot(prefix), jobs: await eventJobs(stack) };
    const body = krakenEvent('user.verified', c.providerUserId);
    // At least 301 s away when the service checks it: rounded away from now, taken just before sending.
    for (const skew of [-301, 301, -86_400, 86_400]) {
      const nowS = Date.now() / 1000;
      const t = skew < 0 ? Math.floor(nowS) + skew : Math.ceil(nowS) + skew;
      const res = await deliverKraken(stack.url, body, { t });
      expect(res.status).toBe(401);
      expect(JSON.parse(res.body)).toMatchObject({ status: 401, detail: 'signature timestamp outside the tolerance' });
    }
    expect(await caseOf(stack, c.caseId)).toEqual(before.case);
    expect(caseKeys(prefix, changedKeys(before.redis, await redisSnapshot(prefix)))).toEqual([]);
    expect(await eventJobs(stack)).toBe(before.jobs);
    // The same event, signed now: accepted and new (the refused attempts consumed nothing).
    const fresh = await deliverKraken(stack.url, body);
    expect(fresh).toEqual({ status: 202, body: JSON.stringify({ received: true, duplicate: false }) });
    await until(stack, c.caseId, 'verified');
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toMatch(/kyc_webhooks_received_total\{provider="kraken",outcome="stale"\} 4/);
  });

  it('refuses a captured delivery replayed once the clock is past the tolerance', async () => {
    const p = await startProviders();
    cleanups.push(() => p.close());
    let offsetMs = 0;
    const config = testConfig(p.env);
    const svc: Service = await startService({ config, role: 'all', clock: offsetClock(() => offsetMs), providerUrls: p.urls, log: createLogger({ level: 'silent' }) });
    cleanups.push(async () => { await svc.close(); await dropPrefix(config.QUEUE_PREFIX, REDIS_URL); });
    const api = async (path: string, body?: unknown) => (await fetch(`${svc.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST', body: body === undefined ? undefined : JSON.stringify(body),
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    })).json() as Promise<any>;
    const { caseId } = await api('/v1/onboardings', { provider: 'kraken', applicant: applicant({ occupation: 'computers_and_it', tosVersionAccepted: 3 }) });
    const c = await waitFor(async () => { const x = await api(`/v1/cases/${caseId}`); return x.status === 'awaiting_verification' ? x : undefined; }, { what: 'awaiting' });
    // The delivery an attacker captured: accepted when it was fresh.
    const body = krakenEvent('user.verified', c.providerUserId);
    const t = Math.floor(Date.now() / 1000);
    const header = `t=${t},v1=${signKrakenWebhook(KRAKEN_SECRETS[0]!, t, body)}`;
    const replay = () => fetch(`${svc.url}/webhooks/kraken`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-signature': header }, body });
    expect((await replay()).status).toBe(202);
    const verified = await waitFor(async () => { const x = await api(`/v1/cases/${caseId}`); return x.status === 'verified' ? x : undefined; }, { what: 'verified' });
    // Within the tolerance a replay is only a duplicate; 301 s later it is refused outright.
    expect(await (await replay()).json()).toEqual({ received: true, duplicate: true });
    offsetMs = 301_000;
    const late = await replay();
    expect(late.status).toBe(401);
    expect(((await late.json()) as { detail: string }).detail).toBe('signature timestamp outside the tolerance');
    expect((await api(`/v1/cases/${caseId}`)).version).toBe(verified.version);
  });
});

describe('Kira: no timestamp, dedupe by event id', () => {
  async function escalatedCase(env: Record<string, string> = {}) {
    const p = await startProviders();
    cleanups.push(() => p.close());
    const first = await startFullStack(p, { env });
    const prefix = first.config.QUEUE_PREFIX;
    cleanups.push(() => dropPrefix(prefix, REDIS_URL), () => stopOnce(first));
    const c = await onboard(first, 'kira', 'awaiting_verification');
    const event = kiraEvent('user.verification.failed', c.providerUserId, { reasons: ['Sanctions screening match'] });
    expect((await deliverKira(first.url, event)).status).toBe(202);
    await until(first, c.caseId, 'escalated');
    await eventsSettled(first);
    return { p, first, prefix, caseId: c.caseId as string, event, decided: await caseOf(first, c.caseId) };
  }

  /** Restarts the service (a new process in effect: new connections, no memory) on the same Redis. */
  async function restart(p: Awaited<ReturnType<typeof startProviders>>, old: Stack, env: Record<string, string> = {}): Promise<Stack> {
    await stopOnce(old);
    const next = await startFullStack(p, { env: { QUEUE_PREFIX: old.config.QUEUE_PREFIX, ...env } });
    cleanups.push(() => stopOnce(next));
    return next;
  }

  it('answers a replay as a duplicate and changes nothing, before and after two restarts', async () => {
    const { p, first, caseId, event, decided } = await escalatedCase();
    expect(JSON.parse((await deliverKira(first.url, event)).body)).toEqual({ received: true, duplicate: true });
    let stack = first;
    for (let i = 0; i < 2; i++) {
      stack = await restart(p, stack);
      const again = await deliverKira(stack.url, event);
      expect(again.status).toBe(202);
      expect(JSON.parse(again.body)).toEqual({ received: true, duplicate: true });
      await eventsSettled(stack);
      expect(await caseOf(stack, caseId)).toEqual(decided);
    }
    expect(decided.timeline.filter((e: { source: string }) => e.source === 'webhook')).toHaveLength(1);
  });

  it('is still a no-op once the dedupe key is gone (its TTL passed) and the service restarted: the case remembers the event', async () => {
    const { p, first, prefix, caseId, event, decided } = await escalatedCase();
    // WEBHOOK_DEDUPE_TTL is at least 3 days: its expiry is played by deleting the key.
    const redis = new Redis(REDIS_URL);
    cleanups.push(() => Promise.resolve(redis.disconnect()));
    const dedupeKeys = await redis.keys(`${prefix}:kyc-events:de:*`);
    expect(dedupeKeys).toHaveLength(1);
    await redis.del(...dedupeKeys);
    const stack = await restart(p, first);
    const completedBefore = (await stack.svc.producer.queues().find((q) => q.name === 'kyc-events')!.getJobCounts('completed')).completed!;
    const again = await deliverKira(stack.url, event);
    // The queue no longer knows it: queued and processed again...
    expect(JSON.parse(again.body)).toEqual({ received: true, duplicate: false });
    await waitFor(async () => (await stack.svc.producer.queues().find((q) => q.name === 'kyc-events')!.getJobCounts('completed')).completed! > completedBefore, { what: 'the replay to be processed' });
    // ...and the case, which keeps the ids of the events it applied, does not change.
    expect(await caseOf(stack, caseId)).toEqual(decided);
  });
});
