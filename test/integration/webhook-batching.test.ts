/**
 * The ingest hot path (issue 8): concurrent webhooks are micro-batched into one Redis write
 * and webhook POSTs skip express. Neither may change what a provider is told: accepted vs
 * duplicate per event, 503 for every event Redis did not take, the same answer and headers
 * whichever HTTP path serves the request.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProviderEvent } from '../../src/kyc/types.js';
import { createProducer, QueueUnavailableError } from '../../src/queue/producer.js';
import { createRedis } from '../../src/queue/redis.js';
import { dropPrefix, startOwnRedis, uniquePrefix, type OwnRedis } from '../helpers/redis.js';
import { SECRETS, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack | undefined;
let own: OwnRedis | undefined;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await stack?.close();
  stack = undefined;
  for (const c of cleanups.splice(0).reverse()) await c();
  await own?.cleanup();
  own = undefined;
});

const sign = (body: string) => createHmac('sha256', SECRETS[0]!).update(body).digest('hex');
const failed = (eventId: string) => JSON.stringify({ event: 'user.verification.failed', data: { event_id: eventId, user_id: `usr-${randomUUID()}`, reasons: ['Verification session expired'] } });

async function deliver(url: string, body: string): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-signature-sha256': sign(body) }, body });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

function event(id: string): ProviderEvent {
  return { provider: 'kira', providerEventId: id, type: 'user.verification.failed', userRef: 'usr-1', source: 'webhook', outcome: 'rejected', terminal: true, reasons: [] };
}

describe('micro-batched webhook enqueue', () => {
  it('tells each of many concurrent deliveries whether its event was new or a duplicate, and stores each event once', async () => {
    stack = await startStack({ sim: { autoVerify: false, faults: { drop: 1 } } });
    const url = `${stack.url}/webhooks/kira`;
    const ids = Array.from({ length: 40 }, () => `evt-${randomUUID()}`);
    // Every event three times, all at once: copies of one event land in the same batch.
    const bodies = ids.flatMap((id) => { const b = failed(id); return [b, b, b]; });
    const answers = await Promise.all(bodies.map((b) => deliver(url, b)));
    expect(answers.map((a) => a.status)).toEqual(bodies.map(() => 202));
    for (const [i, id] of ids.entries()) {
      const mine = answers.slice(i * 3, i * 3 + 3).map((a) => JSON.parse(a.body) as { duplicate: boolean });
      expect(mine.filter((a) => !a.duplicate), id).toHaveLength(1);
    }
    const jobs = await stack.svc.producer.queues()[0]!.getJobs(['waiting', 'active', 'delayed', 'failed', 'completed']);
    const stored = jobs.map((j) => (j.data as { event: ProviderEvent }).event.providerEventId);
    expect(stored.sort()).toEqual([...ids].sort());
  });

  it('rejects every event of a batch with QueueUnavailableError when Redis is down, and takes them once it is back', async () => {
    own = await startOwnRedis({ appendonly: false });
    const prefix = uniquePrefix();
    const redis = createRedis(own.url, 'producer');
    const producer = createProducer({ connection: redis, prefix, providers: ['kira'], dedupeTtlMs: 60_000, enqueueTimeoutMs: 500 });
    cleanups.push(() => redis.disconnect(), () => producer.close());
    expect(await producer.enqueueEvent(event(`warm-${randomUUID()}`))).toBe('accepted');
    const ids = Array.from({ length: 25 }, () => `evt-${randomUUID()}`);
    await own.stop();
    let down: PromiseSettledResult<'accepted' | 'duplicate'>[];
    try {
      down = await Promise.allSettled(ids.map((id) => producer.enqueueEvent(event(id))));
    } finally {
      await own.start();
    }
    expect(down.map((r) => r.status)).toEqual(ids.map(() => 'rejected'));
    for (const r of down) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(QueueUnavailableError);
    // The provider retries: each event is new to Redis, none was half-taken.
    const up = await Promise.all(ids.map(async (id) => {
      for (let i = 0; i < 100; i++) {
        try {
          return await producer.enqueueEvent(event(id));
        } catch (err) {
          if (!(err instanceof QueueUnavailableError)) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      throw new Error('Redis did not come back');
    }));
    expect(up).toEqual(ids.map(() => 'accepted'));
    await dropPrefix(prefix, own.url);
  });
});

describe('webhook fast path', () => {
  it('answers exactly as the express route does, with the same security headers and request log line', async () => {
    stack = await startStack({ sim: { autoVerify: false, faults: { drop: 1 } } });
    const body = failed(`evt-${randomUUID()}`);
    // `/webhooks/kira` is served without express; `/webhooks/kira/` (same route to express) is not.
    const fast = await deliver(`${stack.url}/webhooks/kira`, body);
    const viaExpress = await deliver(`${stack.url}/webhooks/kira/`, body);
    expect([fast.status, viaExpress.status]).toEqual([202, 202]);
    expect(JSON.parse(fast.body)).toEqual({ received: true, duplicate: false });
    expect(JSON.parse(viaExpress.body)).toEqual({ received: true, duplicate: true });
    const security = ['content-security-policy', 'x-content-type-options', 'x-frame-options', 'strict-transport-security', 'referrer-policy', 'cross-origin-resource-policy'];
    for (const h of [...security, 'content-type']) expect(fast.headers.get(h), h).toBe(viaExpress.headers.get(h));
    for (const h of security) expect(fast.headers.get(h), h).toBeTruthy();
    // Errors too: a bad signature is the same problem answer on both paths.
    const forged = { method: 'POST', headers: { 'x-signature-sha256': 'ab'.repeat(32) }, body } as const;
    const [a, b] = await Promise.all([fetch(`${stack.url}/webhooks/kira`, forged), fetch(`${stack.url}/webhooks/kira/`, forged)]);
    expect([a.status, b.status]).toEqual([401, 401]);
    expect(await a.json()).toEqual(await b.json());
    expect(a.headers.get('content-type')).toBe(b.headers.get('content-type'));
    expect(a.headers.get('content-security-policy')).toBe(b.headers.get('content-security-policy'));
    const lines = stack.logs.join('').split('\n').filter((l) => l.includes('"request completed"')).map((l) => JSON.parse(l) as { req: { path: string; id: string }; res: { statusCode: number } });
    const fastLines = lines.filter((l) => l.req.path === '/webhooks/kira');
    expect(fastLines.map((l) => l.res.statusCode).sort()).toEqual([202, 401]);
    expect(fastLines.every((l) => l.req.id.length > 0)).toBe(true);
    expect(fast.headers.get('x-request-id')).toBe(fastLines.find((l) => l.res.statusCode === 202)!.req.id);
  });
});
