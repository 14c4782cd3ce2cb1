import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProviderEvent } from '../../src/kyc/types.js';
import { systemClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { listDeadLetters, replayAll, replayDeadLetter } from '../../src/notifications/dlq.js';
import { createNotifications, createOutbox, secretKey } from '../../src/notifications/index.js';
import { notifyProcessor } from '../../src/notifications/processor.js';
import { NOTIFICATIONS_QUEUE } from '../../src/queue/catalog.js';
import type { RedisClient } from '../../src/queue/redis.js';
import { connectRedis } from '../helpers/redis.js';
import { applicant, startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

/** A partner endpoint on 127.0.0.1: records every request, answers what `respond` says. */
interface Received { id: string; headers: Record<string, string>; body: string; status: number; json: any }
async function startPartner() {
  const received: Received[] = [];
  let respond: (n: number) => number = () => 200;
  let server: Server | undefined;
  let port = 0;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const status = respond(received.length);
      const pick = (h: string) => String(req.headers[h] ?? '');
      const headers = { 'webhook-id': pick('webhook-id'), 'webhook-timestamp': pick('webhook-timestamp'), 'webhook-signature': pick('webhook-signature') };
      received.push({ id: headers['webhook-id'], headers, body, status, json: JSON.parse(body) });
      res.writeHead(status).end();
    });
  };
  async function start(): Promise<void> {
    server = createServer(handler);
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  }
  async function stop(): Promise<void> {
    const s = server;
    server = undefined;
    if (s) await new Promise<void>((r) => { s.close(() => r()); s.closeAllConnections(); });
  }
  await start();
  return {
    received, start, stop, url: `http://127.0.0.1:${port}/hooks`,
    respondWith(fn: (n: number) => number) { respond = fn; },
    delivered: () => received.filter((r) => r.status >= 200 && r.status < 300),
  };
}
type Partner = Awaited<ReturnType<typeof startPartner>>;

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
let stacks: Stack[] = [];
let partner: Partner | undefined;
let redis: RedisClient | undefined;
afterEach(async () => {
  for (const s of stacks.reverse()) await s.close();
  stacks = [];
  await partner?.stop();
  partner = undefined;
  redis?.disconnect();
  redis = undefined;
});

async function stackWith(p: Partner, env: Record<string, string> = {}, role?: 'all' | 'api'): Promise<Stack> {
  const s = await startStack({ role, env: { PARTNER_WEBHOOK_URL: p.url, PARTNER_WEBHOOK_SECRET: SECRET, ...env } });
  stacks.push(s);
  return s;
}
async function onboard(s: Stack, a: Record<string, unknown>): Promise<string> {
  const res = await s.api('/v1/onboardings', { body: { provider: 'kira', applicant: a } });
  expect(res.status).toBe(202);
  return res.body.caseId as string;
}
const typesFor = (p: Partner, caseId: string, of = p.delivered()) => of.filter((r) => r.json.data.caseId === caseId).map((r) => r.json.type as string);
const metric = async (s: Stack, outcome: string) => {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  return Number(new RegExp(`kyc_notifications_total\\{outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
};
/** A case decided through the store alone, as if the process died right after the transition. */
async function verifiedWithoutRelay(s: Stack): Promise<string> {
  const store = s.svc.store;
  const now = new Date();
  const { case: c } = await store.create('kira', { externalId: `direct-${randomBytes(4).toString('hex')}` }, now);
  await store.apply(c.id, { kind: 'user_created', providerUserId: `u-${c.id}`, adopted: false }, { now });
  const event: ProviderEvent = { provider: 'kira', providerEventId: `e-${c.id}`, type: 'user.verification.accepted', userRef: `u-${c.id}`, source: 'webhook', outcome: 'verified', terminal: true, reasons: [] };
  expect((await store.apply(c.id, { kind: 'provider_event', event }, { now, inputKey: `evt:e-${c.id}` })).outcome).toBe('applied');
  return c.id;
}
/** Every request the partner received verifies with the official standardwebhooks package. */
function expectAllVerified(p: Partner): void {
  const wh = new Webhook(SECRET);
  for (const r of p.received) expect(wh.verify(r.body, r.headers)).toEqual(r.json);
}

describe('partner notifications', () => {
  it('delivers verified, escalated, rejected and escalation_resolved, signed per Standard Webhooks', async () => {
    partner = await startPartner();
    const s = await stackWith(partner);
    const a = [applicant(), applicant({ lastName: 'Sanctioned' }), applicant({ lastName: 'Fraud' })];
    const [verified, sanctioned, fraud] = [await onboard(s, a[0]!), await onboard(s, a[1]!), await onboard(s, a[2]!)];
    const p = partner;
    await waitFor(() => typesFor(p, verified).length + typesFor(p, sanctioned).length + typesFor(p, fraud).length === 3, { what: 'three decisions delivered' });
    expect(await s.api(`/v1/cases/${sanctioned}/resolve`, { body: { action: 'reject', note: 'confirmed match' } })).toMatchObject({ status: 202 });
    await waitFor(() => typesFor(p, sanctioned).length === 2, { what: 'escalation_resolved delivered' });

    expect(typesFor(p, verified)).toEqual(['case.verified']);
    expect(typesFor(p, fraud)).toEqual(['case.rejected']);
    expect(typesFor(p, sanctioned)).toEqual(['case.escalated', 'case.escalation_resolved']);
    expectAllVerified(p);
    const byType = Object.fromEntries(p.received.map((r) => [r.json.type, r.json]));
    expect(byType['case.rejected']).toMatchObject({ id: expect.stringMatching(/^ntf_/), data: { caseId: fraud, provider: 'kira', externalId: a[2]!.externalId, status: 'rejected', reasons: [{ code: 'fraud_suspected' }] } });
    expect(byType['case.escalated'].data).toMatchObject({ status: 'escalated', reasons: [{ code: 'sanctions_or_pep' }] });
    expect(byType['case.escalation_resolved'].data).toMatchObject({ status: 'rejected', resolution: 'reject' });
    expect(byType['case.verified'].data).toEqual({ caseId: verified, provider: 'kira', externalId: a[0]!.externalId, status: 'verified', reasons: [] });
    for (const r of p.received) {
      expect(r.headers['webhook-id']).toBe(r.json.id);
      for (const x of a) for (const pii of [x.email, x.phone, x.firstName, x.dateOfBirth]) expect(r.body).not.toContain(String(pii));
    }
    expect(await metric(s, 'delivered')).toBe(4);
    expect(await metric(s, 'failed_attempt')).toBe(0);
  });

  it('keeps retrying while the partner is down (503, then connection refused) and delivers in order per case once it is back', async () => {
    partner = await startPartner();
    const p = partner;
    p.respondWith(() => 503);
    const s = await stackWith(p, { NOTIFY_BACKOFF_BASE: '100ms' });
    const escalated = await onboard(s, applicant({ lastName: 'Sanctioned' }));
    const verified = await onboard(s, applicant());
    await waitFor(() => p.received.filter((r) => r.json.type === 'case.escalated').length >= 2, { what: 'the escalation to be retried' });
    expect(await s.api(`/v1/cases/${escalated}/resolve`, { body: { action: 'reject' } })).toMatchObject({ status: 202 });

    await p.stop(); // connection refused from now on
    const failedBefore = await metric(s, 'failed_attempt');
    await waitFor(async () => (await metric(s, 'failed_attempt')) > failedBefore, { what: 'an attempt against the stopped partner' });
    expect(p.delivered()).toEqual([]);

    p.respondWith(() => 200);
    await p.start();
    await waitFor(() => typesFor(p, escalated).length === 2 && typesFor(p, verified).length === 1, { timeoutMs: 20_000, what: 'deliveries after recovery' });
    expect(typesFor(p, escalated)).toEqual(['case.escalated', 'case.escalation_resolved']);
    // Head-of-line per case: the resolution was not even attempted before the escalation got its 2xx.
    const forCase = p.received.filter((r) => r.json.data.caseId === escalated);
    const firstResolved = forCase.findIndex((r) => r.json.type === 'case.escalation_resolved');
    expect(forCase.slice(0, firstResolved).at(-1)).toMatchObject({ status: 200, json: { type: 'case.escalated' } });
    expect(new Set(forCase.filter((r) => r.json.type === 'case.escalated').map((r) => r.id)).size).toBe(1);
    expectAllVerified(p);
    expect(await metric(s, 'delivered')).toBe(3);
  });

  it('dead-letters a case whose retries run out, keeps it out of the sweep, and replays it (dry run changes nothing)', async () => {
    partner = await startPartner();
    const p = partner;
    p.respondWith(() => 500);
    const s = await stackWith(p, { NOTIFY_BACKOFF_BASE: '20ms', NOTIFY_RETRY_WINDOW: '400ms' });
    const prefix = s.config.QUEUE_PREFIX;
    redis = connectRedis(s.config.REDIS_URL);
    const r = redis;
    const caseId = await onboard(s, applicant({ lastName: 'Sanctioned' }));
    await waitFor(async () => (await listDeadLetters(r, prefix)).length === 1, { what: 'the case to be dead-lettered' });
    expect(await listDeadLetters(r, prefix)).toEqual([{ caseId, notifications: 1, failedAt: expect.any(String), lastError: 'HTTP 500', failingSince: expect.any(String) }]);
    expect(p.received.length).toBeGreaterThanOrEqual(2);
    expect(await metric(s, 'dead_lettered')).toBe(1);

    // A later decision queues behind the dead-lettered one and does not make the case pending again.
    expect(await s.api(`/v1/cases/${caseId}/resolve`, { body: { action: 'reject' } })).toMatchObject({ status: 202 });
    const outbox = createOutbox(r, prefix);
    expect(await outbox.isPending(caseId)).toBe(false);
    const queue = s.svc.producer.queues().find((q) => q.name === NOTIFICATIONS_QUEUE)!;
    const sweep = createNotifications({
      outbox, producer: s.svc.producer, retryWindowMs: 1, clock: systemClock, metrics: createMetrics({ defaultMetrics: false }),
      log: createLogger({ level: 'silent' }), target: { url: p.url, key: secretKey(SECRET), timeoutMs: 1_000, fetch },
    }).sweep;
    expect(await sweep()).toBe(0);
    expect(await queue.getJob(`notify-${caseId}`)).toBeUndefined();
    expect(await listDeadLetters(r, prefix)).toMatchObject([{ caseId, notifications: 2 }]);

    const seen = p.received.length;
    const dry = await replayAll(r, prefix, s.svc.producer, { dryRun: true });
    expect(dry).toEqual([{ caseId, outcome: 'would_replay', notifications: [
      { id: expect.stringMatching(/^ntf_/), type: 'case.escalated', createdAt: expect.any(String) },
      { id: expect.stringMatching(/^ntf_/), type: 'case.escalation_resolved', createdAt: expect.any(String) },
    ] }]);
    expect(await listDeadLetters(r, prefix)).toHaveLength(1);
    expect(await outbox.isPending(caseId)).toBe(false);
    expect(await queue.getJob(`notify-${caseId}`)).toBeUndefined();

    p.respondWith(() => 204);
    const metrics = createMetrics({ defaultMetrics: false });
    expect(await replayDeadLetter(r, prefix, s.svc.producer, caseId, { dryRun: false, metrics })).toMatchObject({ outcome: 'replayed', enqueued: true });
    await waitFor(() => p.delivered().length === 2, { what: 'the replayed notifications' });
    expect(p.delivered().map((x) => x.json.type)).toEqual(['case.escalated', 'case.escalation_resolved']);
    expect(p.received.slice(seen).every((x) => x.status === 204)).toBe(true);
    expect(await listDeadLetters(r, prefix)).toEqual([]);
    expect(await replayDeadLetter(r, prefix, s.svc.producer, caseId, { dryRun: false })).toEqual({ caseId, outcome: 'not_dead_lettered' });
    expect((await metrics.registry.getSingleMetricAsString('kyc_notifications_total'))).toContain('kyc_notifications_total{outcome="replayed"} 2');
    expectAllVerified(p);
  });

  it('dead-letters at once when the partner answers 410 Gone', async () => {
    partner = await startPartner();
    const p = partner;
    p.respondWith(() => 410);
    const s = await stackWith(p);
    redis = connectRedis(s.config.REDIS_URL);
    const r = redis;
    const caseId = await onboard(s, applicant());
    await waitFor(async () => (await listDeadLetters(r, s.config.QUEUE_PREFIX)).length === 1, { what: 'dead letter after 410' });
    expect(await listDeadLetters(r, s.config.QUEUE_PREFIX)).toMatchObject([{ caseId, lastError: 'HTTP 410 Gone' }]);
    expect(p.received).toHaveLength(1);
  });

  it('delivers a decision whose relay was lost (crash right after the transition) from the reconcile tick\'s sweep', async () => {
    partner = await startPartner();
    const p = partner;
    const s = await stackWith(p, { RECONCILE_TICK: '100ms' });
    const caseId = await verifiedWithoutRelay(s);
    const queue = s.svc.producer.queues().find((q) => q.name === NOTIFICATIONS_QUEUE)!;
    await waitFor(() => typesFor(p, caseId).length === 1, { what: 'delivery by the sweep' });
    expect(typesFor(p, caseId)).toEqual(['case.verified']);
    await waitFor(async () => (await queue.getJobCountByTypes('waiting', 'active', 'delayed')) === 0, { what: 'the job to finish' });
    redis = connectRedis(s.config.REDIS_URL);
    expect(await createOutbox(redis, s.config.QUEUE_PREFIX).isPending(caseId)).toBe(false);
  });

  it('loses nothing when a worker dies after the partner got the POST but before the ack: redelivered with the same webhook-id', async () => {
    partner = await startPartner();
    const p = partner;
    // The api alone first: decisions are written, nothing consumes the notifications queue.
    const api = await stackWith(p, {}, 'api');
    const prefix = api.config.QUEUE_PREFIX;
    const store = api.svc.store;
    const caseId = await verifiedWithoutRelay(api);
    // The relay twice (e.g. a re-run job): still one delivery job for the case.
    await api.svc.producer.ensureWork((await store.get(caseId))!);
    await api.svc.producer.ensureWork((await store.get(caseId))!);
    const queue = api.svc.producer.queues().find((q) => q.name === NOTIFICATIONS_QUEUE)!;
    expect(await queue.getJobCounts('waiting', 'active', 'delayed')).toEqual({ waiting: 1, active: 0, delayed: 0 });

    // A worker takes the job, POSTs, and "dies" before acking: its lock is never renewed.
    const doomedConnection = connectRedis(api.config.REDIS_URL, { maxRetriesPerRequest: null });
    const doomed = new Worker(NOTIFICATIONS_QUEUE, null, { connection: doomedConnection, prefix, lockDuration: 500 });
    const job = await doomed.getNextJob('doomed-token');
    expect(job?.id).toBe(`notify-${caseId}`);
    redis = connectRedis(api.config.REDIS_URL);
    const dies: typeof fetch = async (url, init) => {
      await fetch(url, init);
      throw new Error('worker killed after the partner answered');
    };
    const run = notifyProcessor({
      outbox: createOutbox(redis, prefix), target: { url: p.url, key: secretKey(SECRET), timeoutMs: 2_000, fetch: dies },
      retryWindowMs: 60_000, clock: systemClock, metrics: createMetrics({ defaultMetrics: false }), log: createLogger({ level: 'silent' }),
    });
    await expect(run(job, AbortSignal.timeout(5_000))).rejects.toThrow('worker killed');
    await doomed.close();
    doomedConnection.disconnect();
    expect(p.received).toHaveLength(1);

    // A worker process starts on the same Redis: the stalled job is recovered and delivered again.
    const worker = await stackWith(p, { QUEUE_PREFIX: prefix, JOB_LOCK_DURATION: '500ms' });
    await waitFor(() => p.received.length === 2, { timeoutMs: 15_000, what: 'redelivery by the new worker' });
    expect(p.received[1]!.id).toBe(p.received[0]!.id);
    expect(p.received[1]!.body).toBe(p.received[0]!.body);
    expectAllVerified(p);
    const outbox = createOutbox(redis, prefix);
    await waitFor(async () => !(await outbox.isPending(caseId)), { what: 'the outbox to drain' });
    expect(await outbox.items(caseId)).toEqual([]);
    // Re-running the job once more sends nothing: the case has nothing pending.
    expect(await run({ data: { caseId: caseId } }, AbortSignal.timeout(5_000))).toBe('not_pending');
    expect(p.received).toHaveLength(2);
    expect(await metric(worker, 'delivered')).toBe(1);
  });
});
