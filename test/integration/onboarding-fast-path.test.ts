/**
 * POST /v1/onboardings is served ahead of express (app.ts, api/onboardings.ts); `/v1/onboardings/`
 * (the same route to express, which ignores a trailing slash) is served by the express route.
 * Both must answer every request alike: success, each refusal, headers and the request log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { startOwnRedis } from '../helpers/redis.js';
import { applicant, startStack, TOKEN, type Stack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ sim: { autoVerify: false, faults: { drop: 1 } } });
});
afterAll(async () => stack.close());

const FAST = '/v1/onboardings';
const EXPRESS = '/v1/onboardings/';
const SECURITY = ['content-security-policy', 'x-content-type-options', 'x-frame-options', 'strict-transport-security', 'referrer-policy', 'cross-origin-resource-policy'];

interface Answer { status: number; headers: Headers; body: unknown }

async function send(path: string, init: { body?: string | Buffer; headers?: Record<string, string> }): Promise<Answer> {
  const res = await fetch(`${stack.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers }, body: init.body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

type Init = { body?: string | Buffer; headers?: Record<string, string> };

/** The same request (or one made afresh for each, a new partner user say) to both paths: the same status and headers. */
async function both(init: Init | (() => Init)): Promise<[Answer, Answer]> {
  const make = typeof init === 'function' ? init : () => init;
  const fast = await send(FAST, make());
  const viaExpress = await send(EXPRESS, make());
  expect(fast.status).toBe(viaExpress.status);
  expect(fast.headers.get('content-type')).toBe(viaExpress.headers.get('content-type'));
  for (const h of SECURITY) {
    expect(fast.headers.get(h), h).toBeTruthy();
    expect(fast.headers.get(h), h).toBe(viaExpress.headers.get(h));
  }
  expect(fast.headers.get('x-request-id')).toBeTruthy();
  return [fast, viaExpress];
}

describe('onboarding fast path', () => {
  it('creates a case (202, Location) and finds it again (200) exactly as the express route does', async () => {
    const [fast, viaExpress] = await both(() => ({ body: JSON.stringify({ provider: 'kira', applicant: applicant() }) }));
    expect(fast.status).toBe(202);
    for (const a of [fast, viaExpress]) {
      const { caseId, status } = a.body as { caseId: string; status: string };
      expect(status).toBe('queued');
      expect(a.headers.get('location')).toBe(`/v1/cases/${caseId}`);
      expect((await stack.api(`/v1/cases/${caseId}`)).body.caseId).toBe(caseId);
    }
    // The same partner user again, through either path: its existing case, 200.
    const same = applicant();
    const first = await send(FAST, { body: JSON.stringify({ provider: 'kira', applicant: same }) });
    const [again, againExpress] = await both({ body: JSON.stringify({ provider: 'kira', applicant: same }) });
    expect([first.status, again.status, againExpress.status]).toEqual([202, 200, 200]);
    // (its status has moved on meanwhile: the worker runs)
    const caseOf = (a: Answer) => (a.body as { caseId: string }).caseId;
    expect(caseOf(again)).toBe(caseOf(first));
    expect(caseOf(againExpress)).toBe(caseOf(first));
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
  });

  it.each([
    ['no bearer token', { headers: { authorization: '' }, body: '{}' }, 401],
    ['a wrong bearer token', { headers: { authorization: 'Bearer wrong' }, body: '{}' }, 401],
    ['a body that is not JSON', { body: '{"provider":' }, 400],
    ['a JSON scalar at the top', { body: '"kira"' }, 400],
    ['an invalid applicant', { body: JSON.stringify({ provider: 'kira', applicant: { externalId: 'bad id!', email: 'nope' } }) }, 400],
    ['an unknown provider', { body: JSON.stringify({ provider: 'acme', applicant: applicant() }) }, 404],
    ['another content type', { headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ provider: 'kira', applicant: applicant() }) }, 400],
    ['a charset other than utf-8', { headers: { 'content-type': 'application/json; charset=latin1' }, body: '{}' }, 415],
    ['an unsupported content encoding', { headers: { 'content-encoding': 'zstd' }, body: '{}' }, 415],
    ['a body over 64 KB', { body: JSON.stringify({ provider: 'kira', applicant: { externalId: 'x'.repeat(70_000) } }) }, 413],
  ] as const)('refuses %s with the same problem answer', async (_what, init, status) => {
    const [fast, viaExpress] = await both(init);
    expect(fast.status).toBe(status);
    expect(fast.headers.get('content-type')).toContain('application/problem+json');
    expect(fast.body).toEqual(viaExpress.body);
    if (status === 401) expect(fast.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('reads a gzip body as express does', async () => {
    const [fast] = await both(() => ({ body: gzipSync(JSON.stringify({ provider: 'kira', applicant: applicant() })), headers: { 'content-encoding': 'gzip' } }));
    expect(fast.status).toBe(202);
  });

  it('writes one request line per answer, with the id it echoed', async () => {
    const id = `fast-path-${Date.now()}`;
    const res = await fetch(`${stack.url}${FAST}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'x-request-id': id }, body: JSON.stringify({ provider: 'kira', applicant: applicant() }) });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-request-id')).toBe(id);
    const lines = stack.logs.join('').split('\n').filter((l) => l.includes(`"${id}"`)).map((l) => JSON.parse(l) as { msg: string; req: { path: string; method: string }; res: { statusCode: number } });
    expect(lines).toEqual([expect.objectContaining({ msg: 'request completed', req: expect.objectContaining({ path: FAST, method: 'POST' }), res: { statusCode: 202 } })]);
  });

  it('answers 503 problem+json on both paths while Redis is away, without a stack trace', async () => {
    const redis = await startOwnRedis({ appendonly: false });
    const own = await startStack({ redisUrl: redis.url, role: 'api', sim: { autoVerify: false } });
    try {
      await redis.stop();
      const answers = await Promise.all([FAST, EXPRESS].map(async (path) => {
        const res = await fetch(`${own.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ provider: 'kira', applicant: applicant() }) });
        return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
      }));
      for (const a of answers) {
        expect(a.status).toBe(503);
        expect(a.type).toContain('application/problem+json');
        expect(a.body).not.toMatch(/at \w+ \(|node_modules|\.ts:\d+/);
      }
      expect(answers[0]!.body).toBe(answers[1]!.body);
    } finally {
      await redis.start();
      await own.close();
      await redis.cleanup();
    }
  });
});
