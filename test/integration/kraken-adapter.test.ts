/**
 * The Kraken adapter against the Kraken simulator (both real HTTP on 127.0.0.1:0), and the
 * simulator's own rules: signatures and nonces checked exactly, seed-schema validation, IIBANs
 * with spaces, duplicate external_id answers, required actions, signed webhooks with retries.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Applicant } from '../../src/kyc/applicant.js';
import { createReasonMapper } from '../../src/kyc/reasons.js';
import type { ProviderEvent } from '../../src/kyc/types.js';
import { systemClock } from '../../src/lib/clock.js';
import { PermanentError } from '../../src/providers/errors.js';
import {
  createKrakenAdapter,
  createKrakenClient,
  createLocalNonceSource,
  createMemoryLedger,
  signKrakenRequest,
  type KrakenLedger,
  type KrakenNonceSource,
} from '../../src/providers/kraken/index.js';
import type { ProviderAdapter, RawWebhook } from '../../src/providers/provider-adapter.js';
import {
  startKrakenSimulator,
  type KrakenSimulator,
  type KrakenSimulatorOptions,
} from '../../src/simulators/kraken/index.js';

const API_KEY = 'sim-kraken-key';
const API_SECRET = Buffer.from('kraken-api-secret-for-tests-0123456789').toString('base64');
const HOOK_SECRET = Buffer.from('kraken-webhook-secret-for-tests').toString('base64');

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function simulator(opts: Partial<KrakenSimulatorOptions> = {}): Promise<KrakenSimulator> {
  const sim = await startKrakenSimulator({
    apiKey: API_KEY,
    apiSecret: API_SECRET,
    webhookSecrets: [HOOK_SECRET],
    decisionDelayMs: 50,
    ...opts,
  });
  cleanups.push(() => sim.close());
  return sim;
}

/**
 * An adapter on its own nonce source and ledger unless given: a fresh ledger is "another process
 * that never saw the first create's answer" (the duplicate path).
 */
function adapterFor(
  sim: KrakenSimulator,
  opts: {
    timeoutMs?: number;
    nonces?: KrakenNonceSource;
    ledger?: KrakenLedger;
    fetch?: typeof fetch;
  } = {},
): ProviderAdapter {
  return createKrakenAdapter({
    baseUrl: sim.url,
    apiKey: API_KEY,
    apiSecret: API_SECRET,
    webhookSecrets: [HOOK_SECRET],
    nonces: opts.nonces ?? createLocalNonceSource(systemClock),
    ...(opts.ledger ? { ledger: opts.ledger } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    clock: systemClock,
    reasons: createReasonMapper(),
    timeoutMs: opts.timeoutMs ?? 2_000,
  });
}

/** A signed client on the same nonce source as an adapter (one API key: one nonce sequence). */
function clientFor(sim: KrakenSimulator, nonces: KrakenNonceSource) {
  return createKrakenClient({
    baseUrl: sim.url,
    apiKey: API_KEY,
    apiSecret: API_SECRET,
    nonces,
    clock: systemClock,
  });
}

async function waitFor<T>(cond: () => T | Promise<T>, timeoutMs = 5_000): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (performance.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise((r) => setTimeout(r, 10));
  }
}

let seq = 0;
function applicant(overrides: Partial<Applicant> = {}): Applicant {
  seq += 1;
  return {
    externalId: `kr-${randomUUID()}`,
    email: `p${seq}@example.com`,
    phone: '+4915112345678',
    firstName: 'Erika',
    lastName: 'Mustermann',
    dateOfBirth: '1988-02-03',
    nationalities: ['DE'],
    address: { line1: 'Hauptstr. 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
    taxIds: [{ id: '12345678901', country: 'DE' }],
    occupation: 'computers_and_it',
    tosVersionAccepted: 3,
    identityDocument: {
      type: 'passport',
      number: 'C01X00T47',
      country: 'DE',
      expiresOn: '2030-01-01',
    },
    ...overrides,
  };
}

const ctx = () => ({ idempotencyKey: randomUUID(), signal: AbortSignal.timeout(10_000) });

/** A webhook receiver that verifies and parses every delivery with the adapter. */
async function receiver(adapter: ProviderAdapter, answer: () => number = () => 202) {
  const out = { url: '', events: [] as ProviderEvent[], ignored: [] as string[], rejected: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw: RawWebhook = { body: Buffer.concat(chunks), headers: req.headers };
      if (!adapter.verifyWebhook(raw, systemClock.now()).ok) {
        out.rejected += 1;
        return void res.writeHead(401).end();
      }
      const status = answer();
      if (status < 300) {
        const parsed = adapter.parseWebhook(
          JSON.parse(raw.body.toString('utf8')),
          raw,
          systemClock.now(),
        );
        if (parsed.kind === 'event') out.events.push(parsed.event);
        if (parsed.kind === 'ignored') out.ignored.push(parsed.type);
      }
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  out.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/kraken`;
  cleanups.push(
    () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  );
  return out;
}

describe('Kraken adapter ↔ simulator', () => {
  it('creates a user, gets an IIBAN with spaces, and reads it back through the encoded, signed path', async () => {
    const sim = await simulator({ autoVerify: false });
    const adapter = adapterFor(sim);
    const user = await adapter.createUser(applicant(), ctx());
    expect(user).toMatchObject({ adopted: false, providerStatus: 'onboarding' });
    expect(user.providerUserId).toMatch(/^AA\d{2} [A-Z0-9]{4} [A-Z0-9]{4} [A-Z0-9]{4}$/);
    const state = await adapter.getUser(user.providerUserId, ctx());
    expect(state).toMatchObject({
      providerUserId: user.providerUserId,
      outcome: 'pending',
      terminal: false,
      providerStatus: 'onboarding',
    });
    expect(Date.parse(state.deadline!)).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    const get = sim.requests().find((r) => r.method === 'GET')!;
    expect(get.path).toBe(`/b2b/users/${user.providerUserId.replaceAll(' ', '%20')}`);
    expect(sim.requests().every((r) => r.status === 201 || r.status === 200)).toBe(true);
  });

  it('maps required actions, verification and disabling from GET', async () => {
    const sim = await simulator();
    const adapter = adapterFor(sim);
    const verified = await adapter.createUser(applicant(), ctx());
    const sanctioned = await adapter.createUser(applicant({ lastName: 'Sanctioned' }), ctx());
    const fraud = await adapter.createUser(applicant({ lastName: 'Fraud' }), ctx());
    await sim.idle();
    expect(await adapter.getUser(verified.providerUserId, ctx())).toMatchObject({
      outcome: 'verified',
      terminal: true,
      providerStatus: 'verified',
    });
    const s = await adapter.getUser(sanctioned.providerUserId, ctx());
    expect(s).toMatchObject({
      outcome: 'rejected',
      terminal: false,
      providerStatus: 'action_required',
      reasons: [{ code: 'sanctions_or_pep', providerText: 'sanctions_screening_match' }],
    });
    expect(Date.parse(s.deadline!)).toBeGreaterThan(Date.now());
    expect(await adapter.getUser(fraud.providerUserId, ctx())).toMatchObject({
      outcome: 'rejected',
      terminal: true,
      reasons: [{ code: 'fraud_suspected' }],
    });
    // Document problems cannot come from Embed's user fields: scripted, as Kraken operations would.
    const deadline = new Date(Date.now() + 3_600_000).toISOString();
    sim.apply(sanctioned.providerUserId, {
      kind: 'require',
      reasons: ['identity_document_expired'],
      deadline,
    });
    expect(await adapter.getUser(sanctioned.providerUserId, ctx())).toMatchObject({
      outcome: 'rejected',
      reasons: [{ code: 'document_expired', providerText: 'identity_document_expired' }],
      deadline,
    });
    sim.apply(verified.providerUserId, { kind: 'close' });
    expect(await adapter.getUser(verified.providerUserId, ctx())).toMatchObject({
      outcome: 'rejected',
      terminal: true,
      providerStatus: 'closed',
      reasons: [{ code: 'unknown' }],
    });
  });

  it('adopts the IIBAN a duplicate external_id answer carries, and never creates a second user', async () => {
    const sim = await simulator({ duplicateExternalId: 'conflict_with_iiban', autoVerify: false });
    const a = applicant();
    const job = ctx(); // a retried job: the same idempotency key
    const first = await adapterFor(sim).createUser(a, job);
    // Another process that never got the first answer: its create meets the duplicate answer.
    const again = await adapterFor(sim).createUser(a, job);
    expect(again).toEqual({
      providerUserId: first.providerUserId,
      providerStatus: 'onboarding',
      adopted: true,
    });
    expect(sim.users()).toHaveLength(1);
    expect(sim.requests().map((r) => `${r.method} ${r.path.split('/')[2]} ${r.status}`)).toEqual([
      'POST users 201',
      'POST verifications 200',
      'POST users 409',
      'POST verifications 200',
    ]);
    // The verification carries the job's key as external_verification_id: submitted once.
    expect(sim.users()[0]!.verifications).toHaveLength(1);
  });

  it('a retry whose create was answered never posts the user again (the ledger has the IIBAN)', async () => {
    const sim = await simulator({ autoVerify: false });
    // The network fails the first verification submission, after the user was created.
    let failNext = true;
    const flaky: typeof fetch = (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (failNext && url.includes('/b2b/verifications/')) {
        failNext = false;
        return Promise.reject(new TypeError('fetch failed'));
      }
      return fetch(input, init);
    };
    const adapter = adapterFor(sim, { fetch: flaky });
    const a = applicant();
    const job = ctx();
    await expect(adapter.createUser(a, job)).rejects.toMatchObject({ name: 'RetryableError' });
    const retried = await adapter.createUser(a, job);
    expect(retried).toMatchObject({ providerUserId: sim.users()[0]!.iiban, adopted: true });
    expect(sim.requests().map((r) => `${r.method} ${r.path.split('/')[2]} ${r.status}`)).toEqual([
      'POST users 201',
      'POST verifications 200',
    ]);
    expect(sim.users()).toHaveLength(1);
  });

  it('stops with a PermanentError naming externalId when the duplicate answer has no IIBAN', async () => {
    const sim = await simulator({
      duplicateExternalId: 'conflict_without_iiban',
      autoVerify: false,
    });
    const a = applicant();
    await adapterFor(sim).createUser(a, ctx());
    const err = await adapterFor(sim)
      .createUser(a, ctx())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).message).toMatch(/already exists.*not creating a second user/);
    expect((err as PermanentError).details).toEqual([
      expect.objectContaining({ field: 'externalId' }),
    ]);
    expect(sim.users()).toHaveLength(1);
  });

  it('remediates by PATCHing only the changed field, and the simulator re-decides', async () => {
    const sim = await simulator();
    const adapter = adapterFor(sim);
    const { taxIds: _t, ...withoutTax } = applicant();
    const user = await adapter.createUser(withoutTax, ctx());
    await sim.idle();
    const rejected = await adapter.getUser(user.providerUserId, ctx());
    expect(rejected.reasons).toEqual([
      { code: 'missing_data', field: 'taxIds', providerText: 'missing_field: tax_ids' },
    ]);
    const fixed = { ...withoutTax, taxIds: [{ id: '12345678901', country: 'DE' }] };
    const detail = await adapter.remediate(
      {
        providerUserId: user.providerUserId,
        applicant: fixed,
        reasons: rejected.reasons,
        attempt: 1,
        changedFields: [],
      },
      ctx(),
    );
    expect(detail).toBe('PATCH tax_ids');
    const patch = sim.requests().find((r) => r.method === 'PATCH')!;
    expect(patch).toMatchObject({ status: 200, bodyKeys: ['tax_ids'] });
    await sim.idle();
    expect(await adapter.getUser(user.providerUserId, ctx())).toMatchObject({
      outcome: 'verified',
    });
  });

  it('carries seed-schema validation errors as field problems on canonical paths', async () => {
    const sim = await simulator();
    const adapter = adapterFor(sim);
    const err = await adapter
      .createUser(applicant({ occupation: 'astronaut', nationalities: ['ZZ'] }), ctx())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).status).toBe(400);
    expect((err as PermanentError).details.map((d) => d.field).sort()).toEqual([
      'nationalities',
      'occupation',
    ]);
    expect(sim.users()).toHaveLength(0);
  });

  it('retries 5xx and 429 classified, and one invalid nonce with a fresh nonce', async () => {
    const sim = await simulator({ autoVerify: false });
    const adapter = adapterFor(sim);
    sim.setFaults({ error: 1 });
    await expect(adapter.createUser(applicant(), ctx())).rejects.toMatchObject({
      name: 'RetryableError',
    });
    sim.setFaults({ error: 0, requestTimeout: 1 });
    await expect(adapter.createUser(applicant(), ctx())).rejects.toMatchObject({
      name: 'RetryableError',
      status: 408,
    });
    sim.setFaults({ requestTimeout: 0 });
    sim.setFaults({ error: 0, ratelimit: 1 });
    await expect(adapter.createUser(applicant(), ctx())).rejects.toMatchObject({
      name: 'RateLimitedError',
      retryAfterMs: 1000,
    });
    sim.setFaults({ ratelimit: 0 });
    // Somebody else used this API key with a nonce far in the future: ours is refused once, then
    // the retry with a fresh nonce is refused too, and the call ends as a permanent 401.
    const future = (BigInt(Date.now()) * 1_000_000n * 2n).toString();
    const body = '{}';
    const res = await fetch(`${sim.url}/b2b/users`, {
      method: 'POST',
      body,
      headers: {
        'API-Key': API_KEY,
        'API-Nonce': future,
        'API-Sign': signKrakenRequest({
          secret: API_SECRET,
          pathWithQuery: '/b2b/users',
          nonce: future,
          body,
        }),
      },
    });
    expect(res.status).toBe(400);
    const err = await adapter.createUser(applicant(), ctx()).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'PermanentError', status: 401 });
    expect(sim.requests().filter((r) => r.authFailure === 'invalid_nonce')).toHaveLength(2);
  });
});

describe('Kraken simulator authentication', () => {
  let nextNonce = 0n;
  async function call(
    sim: KrakenSimulator,
    opts: {
      path?: string;
      nonce?: string;
      body?: string;
      secret?: string;
      key?: string;
      signPath?: string;
      headers?: Record<string, string>;
    } = {},
  ) {
    const path = opts.path ?? '/b2b/users';
    nextNonce =
      nextNonce > BigInt(Date.now()) * 1_000_000n
        ? nextNonce + 1n
        : BigInt(Date.now()) * 1_000_000n;
    const nonce = opts.nonce ?? nextNonce.toString();
    const body = opts.body ?? '{}';
    const sign = signKrakenRequest({
      secret: opts.secret ?? API_SECRET,
      pathWithQuery: opts.signPath ?? path,
      nonce,
      body,
    });
    const res = await fetch(`${sim.url}${path}`, {
      method: 'POST',
      body,
      headers: {
        'API-Key': opts.key ?? API_KEY,
        'API-Nonce': nonce,
        'API-Sign': sign,
        'Content-Type': 'application/json',
        ...opts.headers,
      },
    });
    return { status: res.status, body: (await res.json()) as { error?: string[] } };
  }

  it('answers 401 for a wrong key, a wrong secret, a wrong signed path, missing headers, a reused nonce', async () => {
    const sim = await simulator();
    expect((await call(sim, { key: 'other' })).status).toBe(401);
    expect((await call(sim, { secret: Buffer.from('nope').toString('base64') })).body).toEqual({
      error: ['EAPI:Invalid signature'],
    });
    expect((await call(sim, { signPath: '/b2b/users?x=1' })).status).toBe(401);
    expect((await fetch(`${sim.url}/b2b/users`, { method: 'POST', body: '{}' })).status).toBe(401);
    const nonce = (BigInt(Date.now()) * 1_000_000n).toString();
    expect((await call(sim, { nonce })).status).toBe(400); // authenticated; the empty body is invalid
    expect(await call(sim, { nonce })).toEqual({
      status: 401,
      body: { error: ['EAPI:Invalid nonce'] },
    });
    expect((await call(sim, { nonce: (BigInt(nonce) - 1n).toString() })).status).toBe(401);
    expect(sim.requests().map((r) => r.authFailure ?? 'ok')).toEqual([
      'invalid_key',
      'invalid_signature',
      'invalid_signature',
      'missing_headers',
      'ok',
      'invalid_nonce',
      'invalid_nonce',
    ]);
  });

  it('accepts Payward-Version / Kraken-Version 2025-04-15 only', async () => {
    const sim = await simulator();
    expect((await call(sim, { headers: { 'Kraken-Version': '2025-04-15' } })).status).toBe(400); // empty body
    expect((await call(sim, { headers: { 'Payward-Version': '2024-01-01' } })).body).toEqual({
      error: ['EGeneral:Invalid arguments:Payward-Version'],
    });
  });

  it('validates the path parameter length (14–42) and unknown users', async () => {
    const sim = await simulator();
    const adapter = adapterFor(sim);
    await expect(adapter.getUser('AA00 SHORT', ctx())).rejects.toMatchObject({
      name: 'PermanentError',
      status: 400,
      message: expect.stringContaining('ENexus:Invalid user ID'),
    });
    await expect(adapter.getUser('AA00 TEST EXAM PLE1', ctx())).rejects.toMatchObject({
      name: 'PermanentError',
      status: 404,
    });
  });
});

describe('Kraken simulator webhooks', () => {
  it('delivers signed user.verified / user.disabled envelopes that the adapter verifies and parses', async () => {
    const sim = await simulator();
    const adapter = adapterFor(sim);
    const rx = await receiver(adapter);
    sim.setWebhookUrl(rx.url);
    const ok = await adapter.createUser(applicant(), ctx());
    const bad = await adapter.createUser(applicant({ lastName: 'Fraud' }), ctx());
    await adapter.createUser(applicant({ lastName: 'Sanctioned' }), ctx());
    sim.sendTestWebhook();
    await sim.idle();
    expect(rx.rejected).toBe(0);
    expect(rx.events.map((e) => [e.type, e.userRef]).sort()).toEqual(
      [
        ['user.disabled', bad.providerUserId],
        ['user.verified', ok.providerUserId],
      ].sort(),
    );
    expect(
      rx.events.every(
        (e) =>
          /^[A-Z2-7]{6}-[A-Z2-7]{5}-[A-Z2-7]{6}$/.test(e.providerEventId) &&
          e.occurredAt?.endsWith('Z'),
      ),
    ).toBe(true);
    expect(rx.ignored).toEqual(['webhook.test']);
  });

  it('retries a failing receiver with backoff and gives up at the end of the (compressed) window', async () => {
    const sim = await simulator({ retryWindowMs: 600 });
    const adapter = adapterFor(sim);
    let answers = 0;
    const rx = await receiver(adapter, () => (++answers <= 3 ? 503 : 202));
    sim.setWebhookUrl(rx.url);
    await adapter.createUser(applicant(), ctx());
    await waitFor(() => rx.events.length === 1);
    await sim.idle();
    expect(sim.deliveries().map((d) => [d.attempt, d.status])).toEqual([
      [1, 503],
      [2, 503],
      [3, 503],
      [4, 202],
    ]);

    const down = await simulator({ retryWindowMs: 300 });
    down.setWebhookUrl('http://127.0.0.1:9/unreachable');
    await adapterFor(down).createUser(applicant(), ctx());
    await down.idle();
    const d = down.deliveries();
    expect(d.at(-1)).toMatchObject({ status: 'error', gaveUp: true });
    // Delays 1, 2, 4, … ms × (window / 300): the sum of the waits stays inside the window.
    expect(d.length).toBeGreaterThan(5);
  });

  it('rotation signs with both secrets (two v1 values) during the overlap', async () => {
    const sim = await simulator();
    const newSecret = Buffer.from('brand-new-webhook-secret').toString('base64');
    const onlyNew = createKrakenAdapter({
      baseUrl: sim.url,
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      webhookSecrets: [newSecret],
      clock: systemClock,
      reasons: createReasonMapper(),
    });
    const onlyOld = adapterFor(sim);
    const headers: string[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = { body: Buffer.concat(chunks), headers: req.headers };
        headers.push(String(req.headers['x-signature']));
        const both =
          onlyNew.verifyWebhook(raw, new Date()).ok && onlyOld.verifyWebhook(raw, new Date()).ok;
        res.writeHead(both ? 202 : 401).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(
      () =>
        new Promise((r) => {
          server.close(() => r());
          server.closeAllConnections();
        }),
    );
    sim.setWebhookUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    sim.rotateSecret(newSecret, 60_000);
    sim.sendTestWebhook();
    await sim.idle();
    expect(headers[0]).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    expect(sim.deliveries()[0]!.status).toBe(202);
  });
});

describe('Kraken remediation: PATCH exactly what differs from what Kraken holds', () => {
  const patches = (sim: KrakenSimulator) =>
    sim
      .requests()
      .filter((r) => r.method === 'PATCH')
      .map((r) => r.bodyKeys);
  const verifications = (sim: KrakenSimulator, iiban: string) =>
    sim.users().find((u) => u.iiban === iiban)!.verifications;

  it('an operator-corrected name (identity_mismatch) is PATCHed as full_name and the verification re-submitted', async () => {
    const sim = await simulator({ autoVerify: false });
    const adapter = adapterFor(sim);
    const a = applicant({ lastName: 'Mustermnan' });
    const user = await adapter.createUser(a, ctx());
    const fixed = { ...a, lastName: 'Mustermann' };
    const detail = await adapter.remediate(
      {
        providerUserId: user.providerUserId,
        applicant: fixed,
        reasons: [{ code: 'identity_mismatch', providerText: 'name does not match document' }],
        attempt: 1,
        changedFields: [],
      },
      ctx(),
    );
    expect(detail).toBe('PATCH full_name; verification re-submitted');
    expect(patches(sim)).toEqual([['full_name']]);
    const held = sim.users()[0]!.fields.full_name as { last_name: string };
    expect(held.last_name).toBe('Mustermann');
    expect(verifications(sim, user.providerUserId)).toHaveLength(2);
    // Retried (same key) after the PATCH went through: nothing differs now, no second PATCH,
    // and the same verification (external_verification_id) is not submitted twice.
    const retry = ctx();
    const input = {
      providerUserId: user.providerUserId,
      applicant: fixed,
      reasons: [{ code: 'identity_mismatch' as const, providerText: 'x' }],
      attempt: 2,
      changedFields: [],
    };
    expect(await adapter.remediate(input, retry)).toBe(
      'no profile field differs from what Kraken holds; verification re-submitted',
    );
    expect(await adapter.remediate(input, retry)).toBe(
      'no profile field differs from what Kraken holds; verification re-submitted',
    );
    expect(patches(sim)).toEqual([['full_name']]);
    expect(verifications(sim, user.providerUserId)).toHaveLength(3);
  });

  it('a session reason with nothing changed re-submits the verification only (no PATCH, no error)', async () => {
    const sim = await simulator({ autoVerify: false });
    const adapter = adapterFor(sim);
    const a = applicant();
    const user = await adapter.createUser(a, ctx());
    const detail = await adapter.remediate(
      {
        providerUserId: user.providerUserId,
        applicant: a,
        reasons: [{ code: 'session_expired', providerText: 'verification_session_expired' }],
        attempt: 1,
        changedFields: [],
      },
      ctx(),
    );
    expect(detail).toBe(
      'no profile field differs from what Kraken holds; verification re-submitted',
    );
    expect(patches(sim)).toEqual([]);
    expect(verifications(sim, user.providerUserId)).toHaveLength(2);
  });

  it('missing data that Kraken already has the value of: a clear PermanentError, no call', async () => {
    const sim = await simulator({ autoVerify: false });
    const adapter = adapterFor(sim);
    const a = applicant();
    const user = await adapter.createUser(a, ctx());
    const before = sim.requests().length;
    const err = await adapter
      .remediate(
        {
          providerUserId: user.providerUserId,
          applicant: a,
          reasons: [
            { code: 'missing_data', field: 'taxIds', providerText: 'missing_field: tax_ids' },
          ],
          attempt: 1,
          changedFields: [],
        },
        ctx(),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(
      /missing data \(taxIds\).*already has the value Kraken was sent.*check the field with Kraken/,
    );
    expect(sim.requests()).toHaveLength(before);
  });

  it('an adopted user (what Kraken holds is unknown) gets every updatable field once, then only changes', async () => {
    const sim = await simulator({ duplicateExternalId: 'conflict_with_iiban', autoVerify: false });
    const a = applicant();
    await adapterFor(sim).createUser(a, ctx());
    const ledger = createMemoryLedger();
    const other = adapterFor(sim, { ledger });
    const user = await other.createUser(a, ctx());
    expect(user.adopted).toBe(true);
    const reasons = [{ code: 'identity_mismatch' as const, providerText: 'x' }];
    await other.remediate(
      { providerUserId: user.providerUserId, applicant: a, reasons, attempt: 1, changedFields: [] },
      ctx(),
    );
    expect(patches(sim)).toEqual([
      [
        'tos_version_accepted',
        'full_name',
        'date_of_birth',
        'residence',
        'phone',
        'nationalities',
        'occupation',
        'tax_ids',
      ],
    ]);
    await other.remediate(
      {
        providerUserId: user.providerUserId,
        applicant: { ...a, phone: '+4915199999999' },
        reasons,
        attempt: 2,
      },
      ctx(),
    );
    expect(patches(sim).at(-1)).toEqual(['phone']);
  });

  it('a 409 that does not name the external id is not a duplicate: classified (permanent), nothing adopted', async () => {
    const sim = await simulator({ autoVerify: false });
    const conflict: typeof fetch = (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (init?.method === 'POST' && url.endsWith('/b2b/users')) {
        return Promise.resolve(
          Response.json(
            { error: ['EGeneral:Conflict'], result: { user: 'AA00 TEST EXAM PLE1' } },
            { status: 409 },
          ),
        );
      }
      return fetch(input, init);
    };
    const err = await adapterFor(sim, { fetch: conflict })
      .createUser(applicant(), ctx())
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: 'PermanentError',
      status: 409,
      message: expect.stringContaining('EGeneral:Conflict'),
    });
    expect(sim.requests()).toHaveLength(0);
  });

  it('signs and sends the multipart verification exactly (the simulator checks API-Sign over the raw bytes)', async () => {
    const sim = await simulator({ autoVerify: false });
    const nonces = createLocalNonceSource(systemClock);
    const adapter = adapterFor(sim, { nonces });
    const user = await adapter.createUser(
      applicant({ identityDocument: { type: 'id_card', number: 'L01X00T47', country: 'DE' } }),
      ctx(),
    );
    const v = verifications(sim, user.providerUserId);
    expect(v).toEqual([
      expect.objectContaining({
        type: 'identity_document',
        metadata: expect.objectContaining({
          document_type: 'id_card',
          document_number: 'L01X00T47',
          issuing_country: 'DE',
        }),
      }),
    ]);
    const rec = sim.requests().find((r) => r.path.startsWith('/b2b/verifications/'))!;
    expect(rec).toMatchObject({ status: 200, bodyKeys: ['type', 'metadata'] });
    expect(rec.path).toBe(`/b2b/verifications/${user.providerUserId.replaceAll(' ', '%20')}`);
    // The same client, unsigned-body tampering: a different body under the same signature is refused.
    const res = await clientFor(sim, nonces).send({
      method: 'POST',
      path: `/b2b/verifications/${encodeURIComponent(user.providerUserId)}`,
      raw: { body: 'not multipart', contentType: 'text/plain' },
      operation: 'test',
    });
    expect(res.status).toBe(400);
  });
});
