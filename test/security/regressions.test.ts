/**
 * Regressions for what the fuzzing (test/security/fuzz-http.test.ts) found:
 * - GET /v1/cases with a well-formed cursor holding an offset past 2^53 answered 500 (the offset
 *   reached Redis as `1e+24`); now 400.
 * - A validly signed Kraken webhook whose event_type is an Object.prototype name (`constructor`,
 *   `__proto__`, `toString`) answered 500: the parser looked the type up in a plain object and
 *   took the prototype's function for a mapping. The lookup now takes own keys only (such a type is
 *   an unknown event, 202), and the webhook route keeps whatever a parser still fails on for
 *   inspection and acknowledges it (202).
 * - Refusing a request before reading its body: Node then read off the whole rest to reuse the
 *   connection (unbounded for chunked bodies). The first fix, closing right after the answer,
 *   reset clients that were still sending, and they lost the answer ("socket hang up", found by
 *   the fuzzer under concurrency). Now: a small declared body is read off and the connection
 *   kept; a chunked or large one gets `Connection: close`, its rest is read off (at most 256 KB)
 *   and the connection is closed cleanly once the client is done.
 */
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { ProviderAdapter } from '../../src/providers/provider-adapter.js';
import { createProviderRegistry } from '../../src/providers/registry.js';
import { createProducer } from '../../src/queue/producer.js';
import { createCaseStore } from '../../src/store/case-store.js';
import { webhookRouter } from '../../src/webhooks/router.js';
import { connectRedis, dropPrefix, uniquePrefix } from '../helpers/redis.js';
import { TOKEN, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import { deliverKraken, startFullStack, startProviders, type Providers } from './stacks.js';
import { createClient, expectProblem, rawConnect } from './tools.js';

let p: Providers;
let stack: Stack;
beforeAll(async () => {
  p = await startProviders();
  stack = await startFullStack(p, { role: 'api' });
});
afterAll(async () => {
  await stack?.close();
  await p?.close();
});

const cursor = (offset: string) => Buffer.from(`o:${offset}`).toString('base64url');

describe('GET /v1/cases cursors', () => {
  it('answers 400 (not 500) to a cursor whose offset is past 2^53', async () => {
    for (const offset of ['99999999999999999999999', '9007199254740993', '1'.repeat(60)]) {
      const res = await stack.api(`/v1/cases?cursor=${cursor(offset)}`);
      expect(res.status, offset).toBe(400);
      expect(res.body).toMatchObject({ status: 400, errors: [{ field: 'cursor', message: 'not a cursor this API returned' }] });
    }
    expect((await stack.api(`/v1/cases?cursor=${cursor('9007199254740991')}`)).status).toBe(200);
    expect((await stack.api(`/v1/cases?cursor=${cursor('0')}`)).body).toEqual({ items: [], nextCursor: null });
  });
});

describe('signed webhooks a parser fails on', () => {
  it('Kraken event types named like Object.prototype members are unknown events (202, counted), not 500', async () => {
    for (const type of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      const res = await deliverKraken(stack.url, JSON.stringify({ event_type: type, iiban: 'AA12 BBBB CCCC DDDD', id: `EVT-${type}`, timestamp: new Date().toISOString() }));
      expect(res.status, type).toBe(202);
      expect(JSON.parse(res.body)).toEqual({ received: true, ignored: type });
    }
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toMatch(/^kyc_webhooks_received_total\{provider="kraken",outcome="unknown_event"\} 5$/m);
  });

  it('a parser that throws on a signed body: acknowledged and kept for inspection, not answered 500', async () => {
    const logs: string[] = [];
    const log = createLogger({ level: 'info', destination: new Writable({ write(c: Buffer, _e, cb) { logs.push(c.toString()); cb(); } }) });
    const redis = connectRedis();
    const prefix = uniquePrefix();
    const store = createCaseStore({ redis, prefix, policy: { maxAttempts: 3 }, pollSchedule: [60_000] });
    const producer = createProducer({ connection: redis, prefix, providers: [], dedupeTtlMs: 4 * 86_400_000 });
    // A provider whose parser has a bug: the one thing this test injects.
    const buggy: ProviderAdapter = {
      id: 'kira', rateLimit: { max: 1, durationMs: 1_000 }, webhooks: true, preflight: () => [],
      createUser: () => Promise.reject(new Error('unused')), getUser: () => Promise.reject(new Error('unused')), remediate: () => Promise.reject(new Error('unused')),
      verifyWebhook: () => ({ ok: true }),
      parseWebhook: () => { throw new TypeError('mapping is not a function'); },
    };
    const app = express().use(webhookRouter({ providers: createProviderRegistry([buggy]), producer, store, metrics: createMetrics({ defaultMetrics: false }), clock: systemClock, log }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/kira`, { method: 'POST', body: '{"event":"user.verification.accepted","data":{"event_id":"e-1"}}' });
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ received: true, kept: true });
      expect(await store.unusableWebhooks()).toEqual([expect.objectContaining({ provider: 'kira', problem: 'the parser failed on this body' })]);
      expect(logs.filter((l) => l.includes('webhook parser failed on a signed body'))).toHaveLength(1);
      expect(logs.join('')).not.toContain('e-1');
    } finally {
      server.close();
      await producer.close();
      await dropPrefix(prefix);
      redis.disconnect();
    }
  });
});

describe('answers to requests refused before their body was read', () => {
  it('arrive whole while the client is still sending a chunked body, which is then read off before a clean close', async () => {
    const conn = await rawConnect(stack.url);
    const piece = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
    await conn.write('POST /webhooks/nope HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' + piece('{"a":'));
    expect(await conn.answered).toBe(404);
    await waitFor(() => conn.received().includes('"status":404'), { what: 'the whole answer' });
    expect(conn.received()).toMatch(/connection: close/i);
    // Still sending after the answer: read off, no reset; closed once the body is complete.
    for (let i = 0; i < 20; i++) await conn.write(piece('"x'.repeat(100)));
    expect(conn.isClosed).toBe(false);
    await conn.write('0\r\n\r\n');
    await conn.closed;
    expect(conn.error).toBeUndefined();
  });

  it('keep the connection when the refused body has a small declared length', async () => {
    const conn = await rawConnect(stack.url);
    await conn.write('POST /webhooks/nope HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n' + 'a'.repeat(500));
    expect(await conn.answered).toBe(404);
    await conn.write('a'.repeat(1500));
    await conn.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => conn.received().includes('{"status":"ok"}'), { what: 'the next answer on the same connection' });
    expect(conn.isClosed).toBe(false);
    conn.destroy();
  });

  it('arrive for every one of many concurrent chunked refusals (no "socket hang up")', async () => {
    const client = createClient(stack.url, 10);
    try {
      const body = Buffer.alloc(4096, 'a');
      const sends = Array.from({ length: 200 }, (_, i) => client.send(i % 2 === 0
        ? { method: 'POST', path: '/webhooks/nope', headers: {}, body, chunked: true }
        : { method: 'PATCH', path: '/v1/cases/x/applicant', headers: { authorization: 'Bearer wrong' }, body, chunked: true }));
      const answers = await Promise.all(sends);
      expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? 404 : 401)));
      for (const a of answers) expectProblem(a);
      expect((await stack.api('/v1/cases', { token: TOKEN })).status).toBe(200);
    } finally {
      client.close();
    }
  });
});
