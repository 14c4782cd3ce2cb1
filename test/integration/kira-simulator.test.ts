import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { nodeFetch, type FetchFn } from '../../src/lib/node-fetch.js';
import {
  ACCOUNT_PURPOSES,
  parseSimFaults,
  SOURCES_OF_FUNDS,
  startKiraSimulator,
  type KiraSimulator,
  type KiraSimulatorOptions,
} from '../../src/simulators/kira/index.js';

const API_KEY = 'test-kira-api-key';
const CLIENT_ID = '7d0a4c1e-5b6f-4a39-9f8e-0c2b1d3e4f50';
const PASSWORD = 'test-kira-password';
const SECRET = 'test_webhook_secret';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface KiraWebhookBody {
  event: string;
  data: { event_id: string; user_id: string; reasons?: string[]; [k: string]: unknown };
}

interface Received {
  raw: string;
  headers: IncomingHttpHeaders;
  body: KiraWebhookBody;
}

interface Receiver {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/** A real local HTTP server that records every webhook; `respond(n)` picks the status of the n-th (0-based). */
async function startReceiver(respond: (n: number) => number = () => 200): Promise<Receiver> {
  const received: Received[] = [];
  let n = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      received.push({ raw, headers: req.headers, body: JSON.parse(raw) as KiraWebhookBody });
      res.statusCode = respond(n++);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/kira`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function signatureValid(r: Received, secret: string): boolean {
  const header = r.headers['x-signature-sha256'];
  if (typeof header !== 'string' || !/^[0-9a-f]{64}$/.test(header)) return false;
  const expected = createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(Buffer.from(r.raw, 'utf8'))
    .digest();
  return timingSafeEqual(expected, Buffer.from(header, 'hex'));
}

/** Polls until `cond` holds; fails after `timeoutMs`. */
async function waitFor(
  cond: () => boolean | Promise<boolean>,
  label: string,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (performance.now() > deadline)
      {throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}`);}
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface CallOpts {
  token?: string;
  apiKey?: string | null;
  body?: unknown;
  key?: string;
  signal?: AbortSignal;
}

async function call(sim: KiraSimulator, method: string, path: string, o: CallOpts = {}) {
  const headers: Record<string, string> = {};
  if (o.apiKey !== null) headers['x-api-key'] = o.apiKey ?? API_KEY;
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.key) headers['idempotency-key'] = o.key;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers,
    body: o.body === undefined ? undefined : JSON.stringify(o.body),
    signal: o.signal,
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  return { status: res.status, text, json, headers: res.headers };
}

async function login(sim: KiraSimulator): Promise<string> {
  const res = await call(sim, 'POST', '/auth', {
    body: { client_id: CLIENT_ID, password: PASSWORD },
  });
  expect(res.status).toBe(200);
  return res.json.data.access_token as string;
}

function person(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'individual',
    external_id: `ext-${randomUUID()}`,
    first_name: 'Ada',
    last_name: 'Lovelace',
    email: 'ada@example.com',
    phone: '+14155550100',
    birth_date: '1990-01-31',
    gender: 'female',
    language: 'en',
    nationality: 'USA',
    address_street: '1 Main St',
    address_city: 'Austin',
    address_state: 'TX',
    address_zip_code: '78701',
    address_country: 'USA',
    document_type: 'passport',
    document_number: 'P1234567',
    document_country: 'USA',
    identifying_information: [{ type: 'ssn', issuing_country: 'USA', number: '123-45-6789' }],
    source_of_funds: 'salary',
    account_purpose: 'receive_payments',
    employment_status: 'employed',
    occupation: 'Engineer',
    pep_status: false,
    ...over,
  };
}

function withoutSourceOfFunds(): Record<string, unknown> {
  const { source_of_funds: _omit, ...rest } = person();
  return rest;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: Partial<KiraSimulatorOptions> = {}, respond?: (n: number) => number) {
  const receiver = await startReceiver(respond);
  const sim = await startKiraSimulator({
    apiKey: API_KEY,
    clientId: CLIENT_ID,
    password: PASSWORD,
    webhookSecrets: [SECRET],
    webhookUrl: receiver.url,
    autoRejectDelayMs: 20,
    verifyDelayMs: 20,
    ...opts,
  });
  cleanups.push(
    () => receiver.close(),
    () => sim.close(),
  );
  const token = await login(sim);
  const create = (body: unknown, key: string = randomUUID()) =>
    call(sim, 'POST', '/v1/users', { token, body, key });
  const get = (id: string) => call(sim, 'GET', `/v1/users/${id}`, { token });
  const ofEvent = (event: string, userId?: string) =>
    receiver.received.filter(
      (r) => r.body.event === event && (userId === undefined || r.body.data.user_id === userId),
    );
  return { sim, receiver, token, create, get, ofEvent };
}

describe('parseSimFaults', () => {
  it('parses the listed faults and defaults the rest to 0', () => {
    expect(parseSimFaults(' drop=1, duplicate=0.2 ,latency=50,commitThenTimeout=0.5')).toEqual({
      drop: 1,
      duplicate: 0.2,
      reorder: 0,
      error: 0,
      ratelimit: 0,
      latency: 50,
      timeout: 0,
      commitThenTimeout: 0.5,
    });
    expect(Object.values(parseSimFaults(''))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it.each([
    ['bogus=1', /unknown fault "bogus"/],
    ['drop', /not name=value/],
    ['drop=lots', /not a number/],
    ['error=1.5', /between 0 and 1/],
    ['latency=-5', />= 0/],
    ['drop=1,drop=0', /given twice/],
  ])('throws a clear error for %s', (spec, message) => {
    expect(() => parseSimFaults(spec)).toThrow(message);
  });
});

describe('authentication', () => {
  it('issues an opaque Bearer token for x-api-key + client credentials', async () => {
    const { sim } = await setup();
    const res = await call(sim, 'POST', '/auth', {
      body: { client_id: CLIENT_ID, password: PASSWORD },
    });
    expect(res.status).toBe(200);
    expect(res.json.message).toBe('Auth token');
    expect(res.json.data).toMatchObject({ expires_in: 3600, token_type: 'Bearer' });
    expect(res.json.data.access_token).toMatch(/^[\w-]{32,}$/);
  });

  it('answers 401 for wrong credentials and 403 for /auth without x-api-key', async () => {
    const { sim } = await setup();
    const wrong = await call(sim, 'POST', '/auth', {
      body: { client_id: CLIENT_ID, password: 'nope' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.json.code).toBe('unauthorized');
    const noKey = await call(sim, 'POST', '/auth', {
      apiKey: null,
      body: { client_id: CLIENT_ID, password: PASSWORD },
    });
    expect(noKey.status).toBe(403);
  });

  it('answers 403 without x-api-key and 401 without or with an unknown Bearer', async () => {
    const { sim, token } = await setup();
    expect((await call(sim, 'GET', '/v1/users', { token, apiKey: null })).status).toBe(403);
    const noBearer = await call(sim, 'GET', '/v1/users');
    expect(noBearer.status).toBe(401);
    expect(noBearer.json).toEqual({
      code: 'unauthorized',
      message: 'No authorization token provided',
    });
    expect((await call(sim, 'GET', '/v1/users', { token: 'forged-token' })).status).toBe(401);
    expect((await call(sim, 'GET', '/v1/users', { token })).status).toBe(200);
  });

  it('expires tokens after tokenTtlSeconds by the injected clock', async () => {
    const clock = fixedClock('2026-05-01T10:00:00.000Z');
    const { sim, token } = await setup({ clock, tokenTtlSeconds: 60 });
    clock.advance(59_000);
    expect((await call(sim, 'GET', '/v1/users', { token })).status).toBe(200);
    clock.advance(2_000);
    const expired = await call(sim, 'GET', '/v1/users', { token });
    expect(expired.status).toBe(401);
    expect(expired.json).toEqual({ code: 'unauthorized', message: 'Token expired' });
  });
});

describe('POST /v1/users idempotency', () => {
  it('requires an Idempotency-Key and creates nothing without one', async () => {
    const { sim, token } = await setup();
    const res = await call(sim, 'POST', '/v1/users', { token, body: person() });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('validation_error');
    expect(sim.users()).toHaveLength(0);
  });

  it('replays the original 201 for the same key and body, and 409s a different body', async () => {
    const { sim, create } = await setup();
    const key = randomUUID();
    const body = person();
    const first = await create(body, key);
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({
      status: 'CREATED',
      verification_status: 'unverified',
      verification_triggered: true,
    });
    expect(first.json.user_id).toMatch(UUID);
    const again = await create(body, key);
    expect(again.status).toBe(201);
    expect(again.json).toEqual(first.json);
    const other = await create({ ...body, first_name: 'Grace' }, key);
    expect(other.status).toBe(409);
    expect(other.json).toEqual({ code: 'conflict', message: 'Idempotency key reused' });
    expect(sim.users()).toHaveLength(1);
    expect(
      sim
        .requests()
        .filter((r) => r.idempotencyKey === key)
        .map((r) => r.status),
    ).toEqual([201, 201, 409]);
  });

  it('answers 409 for the same key and body in conflict mode', async () => {
    const { sim, create } = await setup({ idempotencyReplay: 'conflict' });
    const key = randomUUID();
    const body = person();
    expect((await create(body, key)).status).toBe(201);
    const again = await create(body, key);
    expect(again.status).toBe(409);
    expect(again.json.code).toBe('conflict');
    expect(sim.users()).toHaveLength(1);
  });
});

describe('POST /v1/users validation', () => {
  it.each([
    ['account_purpose', ACCOUNT_PURPOSES, 14],
    ['source_of_funds', SOURCES_OF_FUNDS, 11],
  ] as const)(
    'rejects an unknown %s with invalid_enum_value listing every allowed value',
    async (field, allowed, count) => {
      const { sim, create } = await setup();
      expect(allowed).toHaveLength(count);
      const res = await create(person({ [field]: 'lottery_win' }));
      expect(res.status).toBe(400);
      expect(res.json.error).toBe('Invalid request data');
      expect(res.json.details).toHaveLength(1);
      const [detail] = res.json.details;
      expect(detail).toMatchObject({ path: field, code: 'invalid_enum_value' });
      for (const v of allowed) expect(detail.message).toContain(`'${v}'`);
      expect(detail.message).toContain("received 'lottery_win'");
      expect(sim.users()).toHaveLength(0);
    },
  );

  it.each([
    ['an unknown key', { nickname: 'Ada' }, '', /Unrecognized key\(s\).*'nickname'/],
    ['an undocumented middle_name', { middle_name: 'B' }, '', /Unrecognized key\(s\).*'middle_name'/],
    ['a flat tax_id', { tax_id: '1' }, '', /Unrecognized key\(s\).*'tax_id'/],
    ['an address_street2', { address_street2: 'x' }, '', /Unrecognized key\(s\).*'address_street2'/],
    [
      'a document_expiration_date',
      { document_expiration_date: '2030-01-01' },
      '',
      /Unrecognized key\(s\).*'document_expiration_date'/,
    ],
    ['an empty identifying_information', { identifying_information: [] }, 'identifying_information', /at least one/],
    [
      'an ssn issued outside the USA',
      { identifying_information: [{ type: 'ssn', issuing_country: 'MEX', number: '1' }] },
      'identifying_information.0.type',
      /US tax id/,
    ],
    [
      'a tax id entry with an ISO-2 country',
      { identifying_information: [{ type: 'tax_id', issuing_country: 'MX', number: '1' }] },
      'identifying_information.0.issuing_country',
      /alpha-3/,
    ],
    [
      'a tax id entry without a number',
      { identifying_information: [{ type: 'tax_id', issuing_country: 'MEX' }] },
      'identifying_information.0.number',
      /Required/,
    ],
    [
      'an unknown identifying_information type',
      { identifying_information: [{ type: 'itin', issuing_country: 'USA', number: '1' }] },
      'identifying_information.0.type',
      /'ssn' \| 'tax_id'/,
    ],
    ['an ISO-2 nationality', { nationality: 'US' }, 'nationality', /alpha-3/],
    ['a bad birth_date', { birth_date: '31/01/1990' }, 'birth_date', /YYYY-MM-DD/],
    ['a bad gender', { gender: 'x' }, 'gender', /'male' \| 'female' \| 'other'/],
    ['no external_id', { external_id: undefined }, 'external_id', /Required/],
  ])('answers 400 for %s', async (_label, over, path, message) => {
    const { create } = await setup();
    const res = await create(person(over));
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('Invalid request data');
    expect(res.json.details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path, message: expect.stringMatching(message) }),
      ]),
    );
  });
});

describe('outcomes and webhooks', () => {
  it('auto-rejects a user without source_of_funds: REJECTED + unverified, reasons only in the signed webhook', async () => {
    const { create, get, ofEvent, receiver } = await setup();
    const created = await create(withoutSourceOfFunds());
    expect(created.status).toBe(201);
    const userId = created.json.user_id as string;
    await waitFor(() => ofEvent('user.verification.failed', userId).length === 1, 'failed webhook');
    const user = await get(userId);
    expect(user.json).toMatchObject({
      user_id: userId,
      status: 'REJECTED',
      verification_status: 'unverified',
    });
    expect(user.text).not.toContain('Missing required field');
    expect(user.text).not.toContain('reasons');
    const [failed] = ofEvent('user.verification.failed', userId);
    expect(Object.keys(failed!.body)).toEqual(['event', 'data']);
    expect(failed!.body.data.reasons).toEqual(['Missing required field: source_of_funds']);
    expect(failed!.body.data.event_id).toMatch(UUID);
    const [changed] = ofEvent('user.status_changed', userId);
    expect(changed!.body.data).toMatchObject({
      previous_status: 'VERIFYING',
      new_status: 'REJECTED',
    });
    expect(receiver.received).toHaveLength(2);
    for (const r of receiver.received) {
      expect(signatureValid(r, SECRET)).toBe(true);
      expect(signatureValid(r, 'another_secret')).toBe(false);
    }
  });

  it('verifies a complete user after the delay and sends user.verification.accepted', async () => {
    const { create, get, ofEvent } = await setup();
    const userId = (await create(person())).json.user_id as string;
    await waitFor(
      () => ofEvent('user.verification.accepted', userId).length === 1,
      'accepted webhook',
    );
    const [accepted] = ofEvent('user.verification.accepted', userId);
    expect(accepted!.body.data).toEqual({
      event_id: expect.stringMatching(UUID),
      user_id: userId,
      status: 'VERIFIED',
    });
    expect(signatureValid(accepted!, SECRET)).toBe(true);
    expect(ofEvent('user.status_changed', userId).map((r) => r.body.data.new_status)).toEqual([
      'VERIFIED',
    ]);
    expect((await get(userId)).json.status).toBe('VERIFIED');
  });

  it.each([
    [{ last_name: 'Sanctioned' }, 'Sanctions screening match'],
    [{ document_number: 'EXPIRED-123' }, 'Identity document expired'],
    [{ last_name: 'Fraud' }, 'Suspected document fraud'],
  ])('rejects %o with the reason "%s"', async (over, reason) => {
    const { create, get, ofEvent } = await setup();
    const userId = (await create(person(over))).json.user_id as string;
    await waitFor(() => ofEvent('user.verification.failed', userId).length === 1, 'failed webhook');
    expect(ofEvent('user.verification.failed', userId)[0]!.body.data.reasons).toEqual([reason]);
    expect((await get(userId)).json).toMatchObject({
      status: 'REJECTED',
      verification_status: 'rejected',
    });
  });

  it('rejects Sessionexpired once; the re-issued verification passes', async () => {
    const { sim, token, create, get, ofEvent } = await setup();
    const userId = (await create(person({ first_name: 'Sessionexpired' }))).json.user_id as string;
    await waitFor(() => ofEvent('user.verification.failed', userId).length === 1, 'failed webhook');
    expect(ofEvent('user.verification.failed', userId)[0]!.body.data.reasons).toEqual([
      'Verification session expired',
    ]);
    expect((await get(userId)).json.status).toBe('REJECTED');

    const path = `/v1/users/${userId}/verifications`;
    expect((await call(sim, 'POST', path, { token, body: { type: 'embedded-link' } })).status).toBe(
      400,
    );
    const key = randomUUID();
    const reissued = await call(sim, 'POST', path, { token, key, body: { type: 'embedded-link' } });
    expect(reissued.status).toBe(201);
    expect(reissued.json.verification_link).toMatch(/^https:\/\//);
    expect(['VERIFYING', 'REVIEW']).toContain(reissued.json.status);

    await waitFor(
      () => ofEvent('user.verification.accepted', userId).length === 1,
      'accepted webhook',
    );
    expect((await get(userId)).json.status).toBe('VERIFIED');
    const replay = await call(sim, 'POST', path, { token, key, body: { type: 'embedded-link' } });
    expect(replay.status).toBe(201);
    expect(replay.json).toEqual(reissued.json);
    expect(sim.users()[0]!.verificationAttempts).toBe(2);
  });

  it('re-issues only for a REJECTED user: 400 for any other status, and the key stays usable', async () => {
    const { sim, token, create, get, ofEvent } = await setup({ autoVerify: false });
    const userId = (await create(person())).json.user_id as string;
    const path = `/v1/users/${userId}/verifications`;
    const key = randomUUID();
    const pending = await call(sim, 'POST', path, { token, key, body: { type: 'api' } });
    expect(pending.status).toBe(400);
    expect(pending.json).toEqual({
      code: 'validation_error',
      message: 'Verification can only be re-issued for a REJECTED user (status is VERIFYING)',
    });
    sim.flip(userId, 'VERIFIED');
    const verified = await call(sim, 'POST', path, { token, key, body: { type: 'api' } });
    expect(verified.status).toBe(400);
    expect(verified.json.message).toMatch(/status is VERIFIED/);
    expect(sim.users()[0]!.verificationAttempts).toBe(1);

    sim.flip(userId, 'REJECTED', ['Verification session expired']);
    const reissued = await call(sim, 'POST', path, { token, key, body: { type: 'api' } });
    expect(reissued.status).toBe(201);
    expect(reissued.json.status).not.toBe('REJECTED');
    expect((await get(userId)).json.status).toBe('VERIFYING');
    expect(sim.users()[0]!.verificationAttempts).toBe(2);
    await waitFor(() => ofEvent('user.verification.failed', userId).length === 1, 'failed webhook');
  });

  it('answers list items without external_id when listItemsCarryExternalId is off; GET by id keeps it', async () => {
    const { sim, token, create, get } = await setup({ listItemsCarryExternalId: false });
    const body = person();
    const userId = (await create(body)).json.user_id as string;
    const list = await call(sim, 'GET', `/v1/users?external_id=${String(body.external_id)}&limit=5`, {
      token,
    });
    expect(list.json.count).toBe(1);
    expect(list.json.data[0].user_id).toBe(userId);
    expect(list.json.data[0]).not.toHaveProperty('external_id');
    expect((await get(userId)).json.external_id).toBe(body.external_id);
  });

  it('waits for the control hook when autoVerify is off, with ACTIVE, REVIEW and in_review quirks by creation order', async () => {
    const { sim, create, get, ofEvent } = await setup({ autoVerify: false });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await create(person())).json.user_id as string);
    await sim.idle();
    const statuses = await Promise.all(
      ids.map(async (id) => (await get(id)).json.status as string),
    );
    expect(statuses).toEqual(['VERIFYING', 'ACTIVE', 'VERIFYING', 'REVIEW']);
    expect(sim.deliveries()).toHaveLength(0);

    sim.flip(ids[2]!, 'VERIFIED');
    await waitFor(
      () => ofEvent('user.verification.accepted', ids[2]).length === 1,
      'accepted webhook',
    );
    expect((await get(ids[2]!)).json).toMatchObject({
      status: 'VERIFIED',
      verification_status: 'in_review',
    });

    const flipped = await fetch(`${sim.url}/_sim/users/${ids[3]}/flip`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'REJECTED', reasons: ['Name does not match document'] }),
    });
    expect(flipped.status).toBe(200);
    await waitFor(() => ofEvent('user.verification.failed', ids[3]).length === 1, 'failed webhook');
    expect(ofEvent('user.verification.failed', ids[3])[0]!.body.data.reasons).toEqual([
      'Name does not match document',
    ]);
    expect(ofEvent('user.status_changed', ids[3])[0]!.body.data).toMatchObject({
      previous_status: 'REVIEW',
      new_status: 'REJECTED',
    });
    const listed = (await (await fetch(`${sim.url}/_sim/users`)).json()) as {
      data: Array<{ userId: string; status: string }>;
    };
    expect(listed.data.map((u) => u.status)).toEqual(['VERIFYING', 'ACTIVE', 'VERIFIED', 'REJECTED']);
  });

  it('posts its webhooks with the fetch it is given (webhookFetch), signed bytes unchanged', async () => {
    const sent: { url: string; method?: string; body?: string; signature?: string }[] = [];
    const webhookFetch: FetchFn = (url, init) => {
      sent.push({ url, method: init.method, body: init.body, signature: init.headers?.['x-signature-sha256'] });
      return nodeFetch(url, init);
    };
    const { sim, create, receiver } = await setup({ webhookFetch });
    await create(person());
    await waitFor(() => receiver.received.length === 2, 'two deliveries');
    await sim.idle();
    expect(sent.map((s) => [s.method, s.url])).toEqual([['POST', receiver.url], ['POST', receiver.url]]);
    // What went through the given fetch is exactly what arrived, and it is signed as Kira signs.
    expect(receiver.received.map((r) => r.raw)).toEqual(sent.map((s) => s.body));
    for (const s of sent) expect(s.signature).toBe(createHmac('sha256', SECRET).update(s.body!).digest('hex'));
    expect(sim.deliveries().map((d) => d.status)).toEqual([200, 200]);
  });

  it('sends nothing with drop=1', async () => {
    const { sim, create, receiver } = await setup({ faults: { drop: 1 } });
    await create(person());
    await create(withoutSourceOfFunds());
    await waitFor(() => sim.deliveries().length === 4, 'four dropped deliveries');
    await sim.idle();
    expect(sim.deliveries().every((d) => d.status === 'dropped')).toBe(true);
    expect(receiver.received).toHaveLength(0);
  });

  it('sends every event twice with the same bytes and event_id when duplicate=1', async () => {
    const { sim, create, receiver } = await setup({ faults: { duplicate: 1 } });
    await create(person());
    await waitFor(() => receiver.received.length === 4, 'four deliveries');
    await sim.idle();
    const byId = new Map<string, Received[]>();
    for (const r of receiver.received)
      {byId.set(r.body.data.event_id, [...(byId.get(r.body.data.event_id) ?? []), r]);}
    expect(byId.size).toBe(2);
    for (const copies of byId.values()) {
      expect(copies).toHaveLength(2);
      expect(copies[1]!.raw).toBe(copies[0]!.raw);
      expect(signatureValid(copies[1]!, SECRET)).toBe(true);
    }
    expect(receiver.received).toHaveLength(4);
  });

  it('holds reordered events back so that a later event can overtake (reorder=1)', async () => {
    // With reorder=1 only the hold-back factor draws randomness: status_changed ≈ 3x, accepted 0.5x.
    const draws = [0.99, 0];
    const { sim, create, receiver } = await setup({
      faults: { reorder: 1 },
      random: () => draws.shift() ?? 0.5,
    });
    await create(person());
    await waitFor(() => receiver.received.length === 2, 'two deliveries');
    await sim.idle();
    expect(receiver.received.map((r) => r.body.event)).toEqual([
      'user.verification.accepted',
      'user.status_changed',
    ]);
  });

  it('delivers once by default and retries 5xx on the configured schedule', async () => {
    const once = await setup({}, () => 500);
    await once.create(person());
    await waitFor(() => once.sim.deliveries().length === 2, 'two attempts');
    await once.sim.idle();
    expect(once.receiver.received).toHaveLength(2);

    const retried = await setup({ retryMode: [20, 20] }, (n) => (n === 0 ? 503 : 200));
    await retried.create(person());
    await waitFor(() => retried.receiver.received.length === 3, 'three deliveries');
    await retried.sim.idle();
    const first = retried.receiver.received[0]!;
    const sameEvent = retried.receiver.received.filter(
      (r) => r.body.data.event_id === first.body.data.event_id,
    );
    expect(sameEvent).toHaveLength(2);
    expect(sameEvent[1]!.raw).toBe(first.raw);
    expect(
      retried.sim
        .deliveries()
        .filter((d) => d.eventId === first.body.data.event_id)
        .map((d) => [d.attempt, d.status]),
    ).toEqual([
      [1, 503],
      [2, 200],
    ]);
  });

  it('keeps signing with the old secret for the overlap after a rotation', async () => {
    const clock = fixedClock('2026-05-01T10:00:00.000Z');
    const { sim, create, receiver } = await setup({ clock });
    sim.rotateSecret('rotated_secret', 60_000);
    await create(person());
    await waitFor(() => receiver.received.length === 2, 'two deliveries');
    expect(receiver.received.every((r) => signatureValid(r, SECRET))).toBe(true);
    clock.advance(60_001);
    await create(person());
    await waitFor(() => receiver.received.length === 4, 'four deliveries');
    expect(receiver.received.slice(2).every((r) => signatureValid(r, 'rotated_secret'))).toBe(true);
    expect(receiver.received.slice(2).some((r) => signatureValid(r, SECRET))).toBe(false);
  });
});

describe('API faults', () => {
  it.each([
    ['replay', 201],
    ['conflict', 409],
  ] as const)(
    'commitThenTimeout commits the user; the retry with the same key gets %s',
    async (mode, retryStatus) => {
      const { sim, token, create } = await setup({
        idempotencyReplay: mode,
        faults: { commitThenTimeout: 1 },
      });
      const key = randomUUID();
      const body = person();
      const timedOut = call(sim, 'POST', '/v1/users', {
        token,
        key,
        body,
        signal: AbortSignal.timeout(300),
      });
      await expect(timedOut).rejects.toMatchObject({ name: 'TimeoutError' });
      expect(sim.users()).toHaveLength(1);
      expect(sim.requests().find((r) => r.idempotencyKey === key)?.status).toBe('timeout');
      sim.setFaults({ commitThenTimeout: 0 });
      const retry = await create(body, key);
      expect(retry.status).toBe(retryStatus);
      if (mode === 'replay') expect(retry.json.user_id).toBe(sim.users()[0]!.userId);
      expect(sim.users()).toHaveLength(1);
    },
  );

  it('timeout hangs without committing', async () => {
    const { sim, token, create } = await setup();
    sim.setFaults({ timeout: 1 });
    const key = randomUUID();
    const body = person();
    const hung = call(sim, 'POST', '/v1/users', {
      token,
      key,
      body,
      signal: AbortSignal.timeout(300),
    });
    await expect(hung).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(sim.users()).toHaveLength(0);
    sim.setFaults({ timeout: 0 });
    expect((await create(body, key)).status).toBe(201);
    expect(sim.users()).toHaveLength(1);
  });

  it('answers 5xx with error=1 and 429 Retry-After: 1 with ratelimit=1', async () => {
    const { sim, token } = await setup();
    sim.setFaults({ error: 1 });
    expect([500, 503]).toContain((await call(sim, 'GET', '/v1/users', { token })).status);
    sim.setFaults({ error: 0, ratelimit: 1 });
    const limited = await call(sim, 'GET', '/v1/users', { token });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
  });

  it('adds latency to API calls', async () => {
    const { sim, token } = await setup({ faults: { latency: 150 } });
    const started = performance.now();
    expect((await call(sim, 'GET', '/v1/users', { token })).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('rate-limits per account with a token bucket on the injected clock', async () => {
    const clock = fixedClock('2026-05-01T10:00:00.000Z');
    const { sim, token } = await setup({ clock, rateLimit: { perSecond: 1, burst: 3 } }); // login took one token
    expect((await call(sim, 'GET', '/v1/users', { token })).status).toBe(200);
    expect((await call(sim, 'GET', '/v1/users', { token })).status).toBe(200);
    const limited = await call(sim, 'GET', '/v1/users', { token });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    clock.advance(1_000);
    expect((await call(sim, 'GET', '/v1/users', { token })).status).toBe(200);
  });
});

describe('other user routes', () => {
  it('PUT writes only the fields sent; create-only fields → 400; PATCH → 403 gateway error', async () => {
    const { sim, token, create, get } = await setup();
    const userId = (await create(person())).json.user_id as string;
    const put = await call(sim, 'PUT', `/v1/users/${userId}`, {
      token,
      body: { occupation: 'Chef' },
    });
    expect(put.status).toBe(200);
    const after = (await get(userId)).json;
    expect(after).toMatchObject({
      occupation: 'Chef',
      first_name: 'Ada',
      source_of_funds: 'salary',
    });
    expect(after.residential_address).toMatchObject({
      street_line_1: '1 Main St',
      city: 'Austin',
      country: 'USA',
    });
    for (const body of [{ external_id: 'other' }, { type: 'individual' }]) {
      const res = await call(sim, 'PUT', `/v1/users/${userId}`, { token, body });
      expect(res.status).toBe(400);
      expect(res.json.error).toBe('Invalid request data');
    }
    const unknown = await call(sim, 'PUT', `/v1/users/${userId}`, {
      token,
      body: { nickname: 'x' },
    });
    expect(unknown.json.details[0].message).toMatch(/Unrecognized key/);
    const patch = await call(sim, 'PATCH', `/v1/users/${userId}`, {
      token,
      body: { occupation: 'Baker' },
    });
    expect(patch.status).toBe(403);
    expect(patch.json).toEqual({
      message: 'Invalid key=value pair (missing equal-sign) in Authorization header',
    });
    expect((await get(userId)).json.occupation).toBe('Chef');
  });

  it('GET answers 404 for unknown users, filters by external_id and 500s above limit=100', async () => {
    const { sim, token, create, get } = await setup();
    const body = person();
    await create(body);
    await create(person());
    const missing = await get(randomUUID());
    expect(missing.status).toBe(404);
    expect(missing.json.code).toBe('not_found');
    const list = await call(
      sim,
      'GET',
      `/v1/users?external_id=${String(body.external_id)}&limit=10`,
      { token },
    );
    expect(list.json.count).toBe(1);
    expect(list.json.data[0].external_id).toBe(body.external_id);
    expect((await call(sim, 'GET', '/v1/users?limit=101', { token })).status).toBe(500);
    expect((await call(sim, 'GET', '/v1/countries-unknown', { token })).status).toBe(403);
  });
});

describe('HTTP plumbing (bare node:http, as express answered it)', () => {
  const raw = async (sim: KiraSimulator, token: string, body: string | Buffer, type = 'application/json') => {
    const res = await fetch(`${sim.url}/v1/users`, {
      method: 'POST',
      headers: { 'x-api-key': API_KEY, authorization: `Bearer ${token}`, 'idempotency-key': randomUUID(), 'content-type': type },
      body,
    });
    return { status: res.status, type: res.headers.get('content-type'), json: JSON.parse(await res.text()) as Record<string, unknown> };
  };

  it('answers a malformed or non-object JSON body 400 invalid_json and creates nothing', async () => {
    const { sim, token } = await setup();
    for (const body of ['{"external_id": ', '"just a string"', '42']) {
      const res = await raw(sim, token, body);
      expect(res.status).toBe(400);
      expect(res.type).toBe('application/json; charset=utf-8');
      expect(res.json).toEqual({ error: 'Invalid request data', details: [{ path: '', message: 'Malformed JSON body', code: 'invalid_json' }] });
    }
    expect(sim.users()).toHaveLength(0);
  });

  it('answers a body over 10 MB 413, and an empty or non-JSON body with the schema errors of {}', async () => {
    const { sim, token } = await setup();
    const big = await raw(sim, token, Buffer.alloc(10 * 1024 * 1024 + 10, 0x20));
    expect(big.status).toBe(413);
    expect(big.json).toEqual({ message: 'Request Too Long' });
    for (const [body, type] of [['', 'application/json'], ['external_id=x', 'application/x-www-form-urlencoded']] as const) {
      const res = await raw(sim, token, body, type);
      expect(res.status).toBe(400);
      expect(res.json.details).toContainEqual({ path: 'external_id', message: 'Required', code: 'invalid_type' });
    }
    expect(sim.users()).toHaveLength(0);
  });

  it('takes a trailing slash and a percent-encoded id, and refuses a repeated limit', async () => {
    const { sim, token } = await setup();
    const created = await call(sim, 'POST', '/v1/users/', { token, body: person(), key: randomUUID() });
    expect(created.status).toBe(201);
    const id = created.json.user_id as string;
    expect((await call(sim, 'GET', `/v1/users/${encodeURIComponent(id).replace(/-/g, '%2D')}/`, { token })).json.user_id).toBe(id);
    expect((await call(sim, 'GET', '/v1/users/?limit=5', { token })).json.count).toBe(1);
    expect((await call(sim, 'GET', '/v1/users?limit=5&limit=6', { token })).status).toBe(400);
    // The request log names the path without its query, and each request's answer.
    expect(sim.requests().slice(-2)).toMatchObject([
      { method: 'GET', path: '/v1/users/', status: 200 },
      { method: 'GET', path: '/v1/users', status: 400 },
    ]);
  });
});

describe('close()', () => {
  it('cancels pending decisions and ends hung requests', async () => {
    const { sim, token, create } = await setup({ verifyDelayMs: 60_000 });
    await create(person());
    sim.setFaults({ timeout: 1 });
    const hung = call(sim, 'GET', '/v1/users', { token });
    await waitFor(() => sim.requests().some((r) => r.status === 'timeout'), 'hung request');
    await sim.close();
    await expect(hung).rejects.toThrow();
    await sim.idle();
    expect(sim.deliveries()).toHaveLength(0);
  });
});
