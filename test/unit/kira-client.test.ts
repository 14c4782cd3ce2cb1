/**
 * The Kira adapter's HTTP behaviour against a real local server on 127.0.0.1:0 that records every
 * request and answers from a per-test script.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Applicant } from '../../src/kyc/applicant.js';
import { createReasonMapper } from '../../src/kyc/reasons.js';
import { fixedClock } from '../../src/lib/clock.js';
import { PermanentError, RateLimitedError, RetryableError } from '../../src/providers/errors.js';
import { createKiraAdapter, type KiraAdapterDeps } from '../../src/providers/kira/index.js';
import type { ProviderAdapter } from '../../src/providers/provider-adapter.js';

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}
type Answer =
  { status: number; body?: unknown; headers?: Record<string, string> } | 'hang' | 'destroy';
type Script = (req: Recorded, n: number) => Answer | Promise<Answer>;

interface FakeKira {
  url: string;
  requests: Recorded[];
  api(): Recorded[];
  auths(): Recorded[];
  onApi: Script;
  onAuth: Script;
  close(): Promise<void>;
}

async function startFakeKira(): Promise<FakeKira> {
  const requests: Recorded[] = [];
  let tokens = 0;
  let apiCount = 0;
  const fake = {
    requests,
    api: () => requests.filter((r) => r.url !== '/auth'),
    auths: () => requests.filter((r) => r.url === '/auth'),
    onApi: (() => ({ status: 200, body: {} })) as Script,
    onAuth: (() => ({
      status: 200,
      body: {
        message: 'Auth token',
        data: { access_token: `tok-${++tokens}`, expires_in: 3600, token_type: 'Bearer' },
      },
    })) as Script,
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const rec: Recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: text ? JSON.parse(text) : undefined,
      };
      requests.push(rec);
      const script = rec.url === '/auth' ? fake.onAuth : fake.onApi;
      void Promise.resolve(script(rec, rec.url === '/auth' ? 0 : ++apiCount)).then((a) => {
        if (a === 'hang') return;
        if (a === 'destroy') {
          req.socket.destroy();
          return;
        }
        res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
        res.end(a.body === undefined ? '' : JSON.stringify(a.body));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

async function waitFor(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function applicant(over: Partial<Applicant> = {}): Applicant {
  return {
    externalId: 'partner-user-1',
    email: 'ana@example.com',
    phone: '+5215512345678',
    firstName: 'Ana',
    lastName: 'Lopez',
    dateOfBirth: '1990-04-02',
    gender: 'female',
    nationalities: ['MX'],
    address: {
      line1: 'Av. Reforma 1',
      city: 'CDMX',
      postalCode: '06600',
      region: 'CDMX',
      country: 'MX',
    },
    taxIds: [{ id: 'LOAA900402XX1', country: 'MX' }],
    occupation: 'engineer',
    employmentStatus: 'employed',
    sourceOfFunds: 'salary',
    accountPurpose: 'receive_salary',
    identityDocument: { type: 'passport', number: 'G12345678', country: 'MX' },
    pep: false,
    ...over,
  };
}

const KEY = '3f0c9a4e-6c1b-4d0e-9a51-2f1f6f0b7a11';
const ctx = () => ({ idempotencyKey: KEY, signal: new AbortController().signal });

let kira: FakeKira;
let clock: ReturnType<typeof fixedClock>;
let adapter: ProviderAdapter;

function build(over: Partial<KiraAdapterDeps> = {}): ProviderAdapter {
  return createKiraAdapter({
    baseUrl: `${kira.url}/`,
    apiKey: 'api-key-1',
    clientId: 'client-1',
    password: 'pw-1',
    webhookSecrets: ['s'],
    clock,
    reasons: createReasonMapper(),
    timeoutMs: 2_000,
    ...over,
  });
}

beforeEach(async () => {
  kira = await startFakeKira();
  clock = fixedClock('2026-05-01T12:00:00Z');
  adapter = build();
});
afterEach(async () => {
  await kira.close();
});

const user = (status: string, extra: Record<string, unknown> = {}) => ({
  status: 200,
  body: { user_id: 'u-1', status, ...extra },
});

describe('kira client: auth and headers', () => {
  it('authenticates with x-api-key and client credentials, then sends every required header', async () => {
    kira.onApi = (r) =>
      r.method === 'POST'
        ? { status: 201, body: { user_id: 'u-1', status: 'CREATED' } }
        : user('CREATED');
    await adapter.createUser(applicant(), ctx());
    await adapter.getUser('u-1', { signal: new AbortController().signal });
    const [auth] = kira.auths();
    expect(auth?.method).toBe('POST');
    expect(auth?.headers['x-api-key']).toBe('api-key-1');
    expect(auth?.body).toEqual({ client_id: 'client-1', password: 'pw-1' });
    const [post, get] = kira.api();
    for (const r of [post, get]) {
      expect(r?.headers['x-api-key']).toBe('api-key-1');
      expect(r?.headers.authorization).toBe('Bearer tok-1');
      expect(r?.headers['x-api-version']).toBe('2026-04-14');
    }
    expect(post?.url).toBe('/v1/users');
    expect(post?.headers['content-type']).toBe('application/json');
    expect(post?.headers['idempotency-key']).toBe(KEY);
    expect(get?.url).toBe('/v1/users/u-1');
    expect(get?.headers['idempotency-key']).toBeUndefined();
  });

  it('caches the token: one /auth for several calls', async () => {
    kira.onApi = () => user('CREATED');
    for (let i = 0; i < 4; i++) await adapter.getUser('u-1', ctx());
    expect(kira.auths()).toHaveLength(1);
    expect(kira.api()).toHaveLength(4);
  });

  it('shares one in-flight refresh between concurrent callers', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const answerAuth = kira.onAuth;
    kira.onAuth = async (r, n) => {
      await gate;
      return answerAuth(r, n);
    };
    kira.onApi = () => user('CREATED');
    const calls = Promise.all(Array.from({ length: 5 }, () => adapter.getUser('u-1', ctx())));
    await waitFor(() => kira.auths().length >= 1);
    release();
    await calls;
    expect(kira.auths()).toHaveLength(1);
    expect(kira.api().map((r) => r.headers.authorization)).toEqual(Array(5).fill('Bearer tok-1'));
  });

  it('refreshes less than 5 minutes before expiry, by the injected clock', async () => {
    kira.onApi = () => user('CREATED');
    await adapter.getUser('u-1', ctx());
    clock.advance(54 * 60_000); // 6 min left: still cached
    await adapter.getUser('u-1', ctx());
    expect(kira.auths()).toHaveLength(1);
    clock.advance(2 * 60_000); // 4 min left: refresh
    await adapter.getUser('u-1', ctx());
    expect(kira.auths()).toHaveLength(2);
    expect(kira.api().map((r) => r.headers.authorization)).toEqual([
      'Bearer tok-1',
      'Bearer tok-1',
      'Bearer tok-2',
    ]);
  });

  it('on a 401 re-authenticates once and retries the call once', async () => {
    kira.onApi = (r) =>
      r.headers.authorization === 'Bearer tok-1'
        ? { status: 401, body: { code: 'unauthorized', message: 'Token expired' } }
        : user('VERIFIED');
    const state = await adapter.getUser('u-1', ctx());
    expect(state.outcome).toBe('verified');
    expect(kira.requests.map((r) => `${r.url} ${r.headers.authorization ?? ''}`.trim())).toEqual([
      '/auth',
      '/v1/users/u-1 Bearer tok-1',
      '/auth',
      '/v1/users/u-1 Bearer tok-2',
    ]);
  });

  it('concurrent 401s with the same token share one re-auth', async () => {
    kira.onApi = (r) =>
      r.headers.authorization === 'Bearer tok-1'
        ? { status: 401, body: { code: 'unauthorized', message: 'Token expired' } }
        : user('CREATED');
    await Promise.all(Array.from({ length: 4 }, () => adapter.getUser('u-1', ctx())));
    expect(kira.auths()).toHaveLength(2);
    const retried = kira.api().filter((r) => r.headers.authorization === 'Bearer tok-2');
    expect(retried).toHaveLength(4);
  });

  it('gives up with a PermanentError when the retry after re-auth is refused again', async () => {
    kira.onApi = () => ({ status: 401, body: { code: 'unauthorized', message: 'Token expired' } });
    const err = await adapter.getUser('u-1', ctx()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).status).toBe(401);
    expect(kira.auths()).toHaveLength(2);
    expect(kira.api()).toHaveLength(2);
  });

  it('reports refused credentials at /auth as a PermanentError', async () => {
    kira.onAuth = () => ({
      status: 401,
      body: { code: 'unauthorized', message: 'Invalid credentials' },
    });
    await expect(adapter.getUser('u-1', ctx())).rejects.toBeInstanceOf(PermanentError);
    expect(kira.api()).toHaveLength(0);
  });
});

describe('kira client: createUser', () => {
  it('sends the same Idempotency-Key on the retry after a 503', async () => {
    kira.onApi = (_r, n) =>
      n === 1
        ? { status: 503, body: { code: 'unavailable', message: 'try later' } }
        : {
            status: 201,
            body: { user_id: 'u-7', status: 'CREATED', verification_triggered: true },
          };
    await expect(adapter.createUser(applicant(), ctx())).rejects.toBeInstanceOf(RetryableError);
    await expect(adapter.createUser(applicant(), ctx())).resolves.toEqual({
      providerUserId: 'u-7',
      providerStatus: 'CREATED',
      adopted: false,
    });
    const posts = kira.api().filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(2);
    expect(posts.map((r) => r.headers['idempotency-key'])).toEqual([KEY, KEY]);
    expect(posts[0]?.body).toEqual(posts[1]?.body);
    expect(posts[0]?.body).toMatchObject({
      type: 'individual',
      external_id: 'partner-user-1',
      nationality: 'MEX',
      address_country: 'MEX',
    });
  });

  it('on 409 looks the user up by external_id and adopts it', async () => {
    kira.onApi = (r) =>
      r.method === 'POST'
        ? { status: 409, body: { code: 'conflict', message: 'Idempotency key reused' } }
        : {
            status: 200,
            body: { data: [{ user_id: 'u-5', external_id: 'partner-user-1', status: 'REJECTED' }] },
          };
    await expect(adapter.createUser(applicant(), ctx())).resolves.toEqual({
      providerUserId: 'u-5',
      providerStatus: 'REJECTED',
      adopted: true,
    });
    const lookup = kira.api()[1];
    expect(lookup?.method).toBe('GET');
    expect(lookup?.url).toBe('/v1/users?external_id=partner-user-1&limit=5');
    expect(kira.api().filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  /** A 409 on create, the list answering `items`, and GET /v1/users/{id} answering `byId[id]`. */
  function conflictThenList(items: unknown[], byId: Record<string, unknown> = {}): void {
    kira.onApi = (r) => {
      if (r.method === 'POST') {
        return { status: 409, body: { code: 'conflict', message: 'Idempotency key reused' } };
      }
      if (r.url.startsWith('/v1/users?')) {
        return { status: 200, body: { data: items, count: items.length } };
      }
      const id = decodeURIComponent(r.url.slice('/v1/users/'.length));
      const found = byId[id];
      return found === undefined
        ? { status: 404, body: { code: 'not_found', message: 'User not found' } }
        : { status: 200, body: found };
    };
  }

  it('on 409 reads a listed user without external_id by id, and adopts it only when its external_id is ours', async () => {
    conflictThenList([{ user_id: 'u-9', status: 'VERIFYING' }], {
      'u-9': { user_id: 'u-9', external_id: 'partner-user-1', status: 'VERIFYING' },
    });
    await expect(adapter.createUser(applicant(), ctx())).resolves.toEqual({
      providerUserId: 'u-9',
      providerStatus: 'VERIFYING',
      adopted: true,
    });
    expect(kira.api().map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /v1/users',
      'GET /v1/users?external_id=partner-user-1&limit=5',
      'GET /v1/users/u-9',
    ]);
  });

  it.each([
    [
      "a listed user without external_id is someone else's by id",
      [{ user_id: 'u-9', status: 'CREATED' }],
      { 'u-9': { user_id: 'u-9', external_id: 'someone-else', status: 'CREATED' } },
      /other external_ids/,
    ],
    [
      'no external_id can be read at all (list nor GET)',
      [{ user_id: 'u-9', status: 'CREATED' }],
      { 'u-9': { user_id: 'u-9', status: 'CREATED' } },
      /1 listed user\(s\) carry no external_id, even when read by id/,
    ],
    [
      'two listed users carry our external_id',
      [
        { user_id: 'u-1', external_id: 'partner-user-1' },
        { user_id: 'u-2', external_id: 'partner-user-1' },
      ],
      {},
      /2 listed users carry this external_id/,
    ],
    ['the list answer holds no list', 'nope', {}, /holds no list of users/],
  ])('on 409 never adopts blindly: %s', async (_label, items, byId, reason) => {
    if (Array.isArray(items)) conflictThenList(items, byId);
    else {
      kira.onApi = (r) =>
        r.method === 'POST' ? { status: 409, body: {} } : { status: 200, body: { data: items } };
    }
    const err = await adapter.createUser(applicant(), ctx()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).status).toBe(409);
    expect((err as Error).message).toMatch(reason);
    expect((err as Error).message).not.toContain('partner-user-1');
    expect(kira.api().filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it.each([
    ['no user is found', { data: [] }],
    [
      'the list ignored the filter',
      { data: [{ user_id: 'u-other', external_id: 'someone-else', status: 'CREATED' }] },
    ],
  ])(
    'on 409 fails permanently, never creating a second user, when %s',
    async (_label, listBody) => {
      kira.onApi = (r) =>
        r.method === 'POST'
          ? { status: 409, body: { code: 'conflict', message: 'x' } }
          : { status: 200, body: listBody };
      const err = await adapter.createUser(applicant(), ctx()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PermanentError);
      expect((err as Error).message).toMatch(/409/);
      expect(kira.api().filter((r) => r.method === 'POST')).toHaveLength(1);
    },
  );

  it('turns a 429 into RateLimitedError with retryAfterMs from Retry-After', async () => {
    kira.onApi = () => ({
      status: 429,
      body: { code: 'rate_limited', message: 'slow down' },
      headers: { 'retry-after': '7' },
    });
    const err = await adapter.createUser(applicant(), ctx()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(7_000);
    expect(kira.api()).toHaveLength(1);
  });

  it('waits out a short 429 in-process when maxRateLimitWaitMs allows it', async () => {
    adapter = build({ maxRateLimitWaitMs: 1_000 });
    kira.onApi = (_r, n) =>
      n === 1
        ? { status: 429, body: {}, headers: { 'retry-after': '0' } }
        : { status: 201, body: { user_id: 'u-3', status: 'CREATED' } };
    await expect(adapter.createUser(applicant(), ctx())).resolves.toMatchObject({
      providerUserId: 'u-3',
    });
    expect(kira.api().map((r) => r.headers['idempotency-key'])).toEqual([KEY, KEY]);
  });

  it('turns a 400 into a PermanentError with canonical field details and no PII in the message', async () => {
    kira.onApi = () => ({
      status: 400,
      body: {
        error: 'Invalid request data',
        details: [
          {
            path: 'source_of_funds',
            message: "Invalid enum value, received 'lottery'",
            code: 'invalid_enum_value',
          },
          { path: 'address_city', message: 'Required', code: 'invalid_type' },
        ],
      },
    });
    const err = await adapter
      .createUser(applicant({ sourceOfFunds: 'lottery' }), ctx())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    const p = err as PermanentError;
    expect(p.status).toBe(400);
    expect(p.details.map((d) => d.field)).toEqual(['sourceOfFunds', 'address.city']);
    expect(p.message).toContain('sourceOfFunds');
    expect(JSON.stringify({ m: p.message, d: p.details })).not.toMatch(
      /lottery|Ana|Lopez|ana@example/,
    );
  });

  it('turns a network failure into a RetryableError', async () => {
    kira.onApi = () => 'destroy';
    await expect(adapter.createUser(applicant(), ctx())).rejects.toBeInstanceOf(RetryableError);
  });

  it('turns a timeout into a RetryableError', async () => {
    adapter = build({ timeoutMs: 150 });
    kira.onApi = () => 'hang';
    const err = await adapter.createUser(applicant(), ctx()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as Error).message).toMatch(/TimeoutError|abort/i);
  });
});

describe('kira client: getUser and remediate', () => {
  it.each([
    ['VERIFIED', 'in_review', 'verified', true],
    ['REJECTED', 'unverified', 'rejected', true],
    ['ACTIVE', 'verified', 'pending', false],
    ['REVIEW', 'rejected', 'pending', false],
  ])('gates on status %s (verification_status %s) → %s', async (status, vs, outcome, terminal) => {
    kira.onApi = () => user(status, { verification_status: vs });
    await expect(adapter.getUser('u-1', ctx())).resolves.toEqual({
      providerUserId: 'u-1',
      providerStatus: status,
      outcome,
      terminal,
      reasons: [],
    });
  });

  it('turns a 404 into a PermanentError', async () => {
    kira.onApi = () => ({ status: 404, body: { code: 'not_found', message: 'User not found' } });
    await expect(adapter.getUser('nope', ctx())).rejects.toBeInstanceOf(PermanentError);
  });

  it('PUTs only the now-present missing fields, then re-issues verification with the key', async () => {
    kira.onApi = (r) =>
      r.method === 'PUT'
        ? { status: 200, body: { user_id: 'u-1' } }
        : { status: 201, body: { user_id: 'u-1' } };
    const detail = await adapter.remediate(
      {
        providerUserId: 'u-1',
        applicant: applicant(),
        attempt: 1,
        reasons: [
          {
            code: 'missing_data',
            field: 'sourceOfFunds',
            providerText: 'Missing required field: source_of_funds',
          },
        ],
      },
      ctx(),
    );
    expect(detail).toBe('PUT source_of_funds; verification re-issued');
    const [put, post] = kira.api();
    expect(put).toMatchObject({
      method: 'PUT',
      url: '/v1/users/u-1',
      body: { source_of_funds: 'salary' },
    });
    expect(put?.headers['content-type']).toBe('application/json');
    expect(post).toMatchObject({
      method: 'POST',
      url: '/v1/users/u-1/verifications',
      body: { type: 'api' },
    });
    expect(post?.headers['idempotency-key']).toBe(KEY);
  });

  it('treats a 409 on the re-issue key as already done, and skips the PUT when nothing is missing', async () => {
    kira.onApi = () => ({
      status: 409,
      body: { code: 'conflict', message: 'Idempotency key reused' },
    });
    const detail = await adapter.remediate(
      {
        providerUserId: 'u-1',
        applicant: applicant(),
        attempt: 2,
        reasons: [{ code: 'session_expired', providerText: 'Verification session expired' }],
      },
      ctx(),
    );
    expect(detail).toBe('verification already re-issued');
    expect(kira.api().map((r) => r.method)).toEqual(['POST']);
  });

  it('re-issue refused (400) for a user no longer REJECTED: nothing to re-issue, the verification runs', async () => {
    kira.onApi = (r) =>
      r.method === 'POST'
        ? {
            status: 400,
            body: {
              code: 'validation_error',
              message:
                'Verification can only be re-issued for a REJECTED user (status is VERIFYING)',
            },
          }
        : user('VERIFYING');
    const detail = await adapter.remediate(
      {
        providerUserId: 'u-1',
        applicant: applicant(),
        attempt: 1,
        reasons: [{ code: 'session_expired', providerText: 'Verification session expired' }],
      },
      ctx(),
    );
    expect(detail).toBe(
      'verification not re-issued: the Kira user is VERIFYING, no longer REJECTED',
    );
    expect(kira.api().map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /v1/users/u-1/verifications',
      'GET /v1/users/u-1',
    ]);
  });

  it('re-issue refused (400) while the user is still REJECTED: the refusal stands', async () => {
    kira.onApi = (r) =>
      r.method === 'POST'
        ? { status: 400, body: { code: 'validation_error', message: 'nope' } }
        : user('REJECTED');
    const err = await adapter
      .remediate(
        {
          providerUserId: 'u-1',
          applicant: applicant(),
          attempt: 1,
          reasons: [{ code: 'session_expired', providerText: 'Verification session expired' }],
        },
        ctx(),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).status).toBe(400);
  });

  it('fails permanently when Kira refuses the PUT', async () => {
    kira.onApi = () => ({
      status: 400,
      body: {
        error: 'Invalid request data',
        details: [{ path: 'occupation', message: 'Invalid', code: 'x' }],
      },
    });
    const err = await adapter
      .remediate(
        {
          providerUserId: 'u-1',
          applicant: applicant(),
          attempt: 1,
          reasons: [{ code: 'missing_data', field: 'occupation', providerText: 't' }],
        },
        ctx(),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).details).toEqual([{ field: 'occupation', message: 'Invalid' }]);
    expect(kira.api()).toHaveLength(1);
  });
});
