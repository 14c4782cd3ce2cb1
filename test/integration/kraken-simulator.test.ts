/**
 * The Kraken simulator against PROVIDERS.md §5 rules 5–7, over real HTTP with signed calls:
 * webhook registrations (enabled flag, subscriptions, secret returned once, duplicates), the
 * lifecycle driven by verification submissions, the DESIGN.md outcome rows that need a
 * verification (Sessionexpired, EXPIRED document), and the 408 fault switch.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Applicant } from '../../src/kyc/applicant.js';
import { createReasonMapper } from '../../src/kyc/reasons.js';
import { systemClock } from '../../src/lib/clock.js';
import {
  createKrakenAdapter,
  createKrakenClient,
  createLocalNonceSource,
  encodeForm,
  verifyKrakenSignature,
  type KrakenClient,
} from '../../src/providers/kraken/index.js';
import type { ProviderAdapter } from '../../src/providers/provider-adapter.js';
import { startKrakenSimulator, type KrakenSimulator } from '../../src/simulators/kraken/index.js';

const API_KEY = 'sim-kraken-key-rules';
const API_SECRET = Buffer.from('kraken-api-secret-for-rule-tests').toString('base64');
const HOOK_SECRET = Buffer.from('kraken-webhook-secret-rule-tests').toString('base64');

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

interface Kit {
  sim: KrakenSimulator;
  adapter: ProviderAdapter;
  /** Signed calls on the adapter's nonce source (one API key, one nonce sequence). */
  client: KrakenClient;
  call: (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
  ) => Promise<{ status: number; json: any }>;
  /** A signed multipart POST. */
  form: (
    path: string,
    form: { body: string; contentType: string },
  ) => Promise<{ status: number; json: any }>;
}

async function kit(opts: { autoVerify?: boolean } = {}): Promise<Kit> {
  const sim = await startKrakenSimulator({
    apiKey: API_KEY,
    apiSecret: API_SECRET,
    webhookSecrets: [HOOK_SECRET],
    decisionDelayMs: 20,
    retryWindowMs: 60,
    ...opts,
  });
  cleanups.push(() => sim.close());
  const nonces = createLocalNonceSource(systemClock);
  const deps = {
    baseUrl: sim.url,
    apiKey: API_KEY,
    apiSecret: API_SECRET,
    nonces,
    clock: systemClock,
  };
  const adapter = createKrakenAdapter({
    ...deps,
    webhookSecrets: [HOOK_SECRET],
    reasons: createReasonMapper(),
  });
  const client = createKrakenClient(deps);
  return {
    sim,
    adapter,
    client,
    async call(method, path, body) {
      const res = await client.send({ method, path, body, operation: 'test' });
      return { status: res.status, json: res.json };
    },
    async form(path, form) {
      const res = await client.send({ method: 'POST', path, raw: form, operation: 'test' });
      return { status: res.status, json: res.json };
    },
  };
}

/** A receiver that records every delivery and answers 202. */
async function receiver() {
  const got: Array<{ headers: IncomingHttpHeaders; body: Buffer }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(202).end();
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
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/kraken`;
  const events = () =>
    got.map((g) => (JSON.parse(g.body.toString()) as { event_type: string }).event_type);
  return { url, got, events };
}

const applicant = (overrides: Partial<Applicant> = {}): Applicant => ({
  externalId: `kr-${randomUUID()}`,
  email: 'rule@example.com',
  phone: '+4915112345678',
  firstName: 'Erika',
  lastName: 'Mustermann',
  dateOfBirth: '1988-02-03',
  nationalities: ['DE'],
  address: { line1: 'Hauptstr. 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
  taxIds: [{ id: '12345678901', country: 'DE' }],
  occupation: 'computers_and_it',
  tosVersionAccepted: 3,
  identityDocument: { type: 'passport', number: 'C01X00T47', country: 'DE' },
  ...overrides,
});
const ctx = () => ({ idempotencyKey: randomUUID(), signal: AbortSignal.timeout(10_000) });

describe('Kraken simulator: webhook registrations (rule 6, §1.8)', () => {
  it('registers disabled and unsubscribed by default, returns the base64 secret once, refuses a duplicate URL', async () => {
    const { sim, call } = await kit();
    const rx = await receiver();
    const created = await call('POST', '/b2b/webhooks', { url: rx.url });
    expect(created.status).toBe(200);
    expect(created.json.result.secret).toBe(HOOK_SECRET);
    expect(created.json.result.webhook).toMatchObject({
      url: rx.url,
      enabled: false,
      subscribed_events: [],
      available_events: expect.arrayContaining(['user.verified', 'user.disabled', 'user.closed']),
    });
    const listed = await call('GET', '/b2b/webhooks');
    expect(listed.json.result.webhooks).toEqual([
      expect.objectContaining({ id: created.json.result.webhook.id }),
    ]);
    expect(JSON.stringify(listed.json)).not.toContain(HOOK_SECRET);
    expect(await call('POST', '/b2b/webhooks', { url: rx.url })).toEqual({
      status: 409,
      json: { error: ['ENexus:Webhook already exists'] },
    });
    for (const url of [
      'http://example.com/hook',
      'https://user:pw@example.com/hook',
      `https://example.com/${'x'.repeat(2048)}`,
    ]) {
      expect((await call('POST', '/b2b/webhooks', { url })).status).toBe(400);
    }
    expect(
      (
        await call('POST', '/b2b/webhooks', {
          url: 'https://example.com/h',
          events: ['user.rejected'],
        })
      ).status,
    ).toBe(400);
    expect(sim.webhooks()).toHaveLength(1);
  });

  it('delivers only to an enabled registration subscribed to the event, with its id as X-Webhook-ID', async () => {
    const { sim, adapter, call } = await kit();
    const rx = await receiver();
    const reg = (await call('POST', '/b2b/webhooks', { url: rx.url })).json.result.webhook as {
      id: string;
    };
    // Disabled: nothing is delivered.
    await adapter.createUser(applicant(), ctx());
    await sim.idle();
    expect(rx.got).toEqual([]);
    expect(sim.deliveries().map((d) => [d.event, d.status])).toEqual([['user.verified', 'no_url']]);
    // Enabled, subscribed to user.verified only: verified is delivered, disabled (Fraud) is not.
    const patched = await call('PATCH', `/b2b/webhooks/${reg.id}`, {
      enabled: true,
      events: ['user.verified'],
    });
    expect(patched.json.result.webhook).toMatchObject({
      enabled: true,
      subscribed_events: ['user.verified'],
    });
    await adapter.createUser(applicant(), ctx());
    await adapter.createUser(applicant({ lastName: 'Fraud' }), ctx());
    await sim.idle();
    expect(rx.events()).toEqual(['user.verified']);
    expect(rx.got[0]!.headers['x-webhook-id']).toBe(reg.id);
    expect(rx.got[0]!.headers['x-webhook-event']).toBe('user.verified');
    const raw = { body: rx.got[0]!.body, headers: rx.got[0]!.headers };
    expect(verifyKrakenSignature(raw, [HOOK_SECRET], new Date())).toEqual({ ok: true });
    // The events list replaces the subscriptions; the test endpoint delivers webhook.test once.
    await call('PATCH', `/b2b/webhooks/${reg.id}`, { events: ['user.disabled'] });
    await adapter.createUser(applicant({ lastName: 'Fraud' }), ctx());
    await sim.idle();
    expect(rx.events()).toEqual(['user.verified', 'user.disabled']);
    const test = await call('POST', `/b2b/webhooks/${reg.id}/test`);
    expect(test.json.result).toMatchObject({
      result: 'success',
      http_status: 202,
      payload_sent: expect.stringContaining('webhook.test'),
      signature_header: expect.stringMatching(/^t=\d+,v1=[0-9a-f]{64}$/),
    });
    expect(rx.events().at(-1)).toBe('webhook.test');
    expect(await call('PATCH', `/b2b/webhooks/NOPE`, { enabled: true })).toMatchObject({
      status: 404,
    });
    // Deleted: no more deliveries.
    expect(await call('DELETE', `/b2b/webhooks/${reg.id}`)).toEqual({
      status: 200,
      json: { result: 'success' },
    });
    await adapter.createUser(applicant({ lastName: 'Fraud' }), ctx());
    await sim.idle();
    expect(rx.events()).toEqual(['user.verified', 'user.disabled', 'webhook.test']);
    expect(sim.deliveries().at(-1)).toMatchObject({ event: 'user.disabled', status: 'no_url' });
  });

  it('setWebhookUrl is the partner setup: an enabled registration subscribed to the user events', async () => {
    const { sim, adapter } = await kit();
    const rx = await receiver();
    sim.setWebhookUrl(rx.url);
    expect(sim.webhooks()).toEqual([
      expect.objectContaining({
        url: rx.url,
        enabled: true,
        subscribed_events: ['user.verified', 'user.disabled', 'user.closed'],
      }),
    ]);
    await adapter.createUser(applicant(), ctx());
    await sim.idle();
    expect(rx.events()).toEqual(['user.verified']);
  });
});

describe('Kraken simulator: the lifecycle follows verification submissions (rule 5)', () => {
  it('a user without a verification is not decided; PATCH alone decides nothing; a verification does', async () => {
    const { sim, call, form: send } = await kit();
    const created = await call('POST', '/b2b/users', {
      email: 'x@example.com',
      external_id: `kr-${randomUUID()}`,
      tos_version_accepted: 1,
      full_name: { first_name: 'Erika', last_name: 'Mustermann' },
      date_of_birth: '1988-02-03',
      residence: { line1: 'a', city: 'b', postal_code: 'c', country: 'DE' },
      phone: '+4915112345678',
      nationalities: ['DE'],
      occupation: 'other',
      tax_ids: [{ id: '1', issuing_country: 'DE' }],
    });
    const iiban = created.json.result.user as string;
    const path = `/b2b/users/${encodeURIComponent(iiban)}`;
    await call('PATCH', path, { occupation: 'finance' });
    await sim.idle();
    expect((await call('GET', path)).json.result.status.required_actions).toEqual([
      expect.objectContaining({ reasons: ['initial_onboarding'] }),
    ]);
    const form = encodeForm({
      type: 'identity_document',
      metadata: JSON.stringify({
        document_type: 'passport',
        document_number: 'C1',
        issuing_country: 'DE',
        external_verification_id: 'v-1',
      }),
    });
    const vpath = `/b2b/verifications/${encodeURIComponent(iiban)}`;
    const sent = await send(vpath, form);
    expect(sent).toMatchObject({
      status: 200,
      json: { result: { verification_id: expect.stringMatching(/^VER-/) } },
    });
    // The same external_verification_id again is the same submission.
    expect((await send(vpath, form)).json.result.verification_id).toBe(
      sent.json.result.verification_id,
    );
    await sim.idle();
    expect((await call('GET', path)).json.result.status).toEqual({
      state: 'ok',
      required_actions: [],
    });
    expect(sim.users()[0]!.verifications).toHaveLength(1);
  });

  it('validates the form: type, metadata JSON and the identity document fields; a disabled user → 409', async () => {
    const { adapter, call, form: send } = await kit();
    const user = await adapter.createUser(applicant({ lastName: 'Fraud' }), ctx());
    const vpath = `/b2b/verifications/${encodeURIComponent(user.providerUserId)}`;
    const bad = async (fields: Record<string, string>) =>
      (await send(vpath, encodeForm(fields))).json;
    expect(await bad({ type: 'passport_scan', metadata: '{}' })).toEqual({
      error: ['EGeneral:Invalid arguments:type'],
    });
    expect(await bad({ type: 'identity_document', metadata: '{' })).toEqual({
      error: ['EGeneral:Invalid arguments:metadata'],
    });
    expect(
      await bad({
        type: 'identity_document',
        metadata: JSON.stringify({ document_type: 'passport', issuing_country: 'ZZ' }),
      }),
    ).toEqual({
      error: [
        'EGeneral:Invalid arguments:metadata.document_number',
        'EGeneral:Invalid arguments:metadata.issuing_country',
      ],
    });
    // Wait for the Fraud decision: a disabled user takes no verification.
    await waitUntil(
      async () =>
        (await call('GET', `/b2b/users/${encodeURIComponent(user.providerUserId)}`)).json.result
          .status.state === 'disabled',
    );
    const ok = encodeForm({
      type: 'identity_document',
      metadata: JSON.stringify({
        document_type: 'passport',
        document_number: 'C1',
        issuing_country: 'DE',
      }),
    });
    expect(await send(vpath, ok)).toEqual({
      status: 409,
      json: { error: ['ENexus:User disabled'] },
    });
  });

  it('Sessionexpired: the first verification gets a session-expired required action, the re-submitted one passes', async () => {
    const { sim, adapter } = await kit();
    const a = applicant({ firstName: 'Sessionexpired' });
    const user = await adapter.createUser(a, ctx());
    await sim.idle();
    const first = await adapter.getUser(user.providerUserId, ctx());
    expect(first).toMatchObject({
      outcome: 'rejected',
      terminal: false,
      reasons: [{ code: 'session_expired', providerText: 'verification_session_expired' }],
    });
    const detail = await adapter.remediate(
      { providerUserId: user.providerUserId, applicant: a, reasons: first.reasons, attempt: 1 },
      ctx(),
    );
    expect(detail).toBe(
      'no profile field differs from what Kraken holds; verification re-submitted',
    );
    await sim.idle();
    expect(await adapter.getUser(user.providerUserId, ctx())).toMatchObject({
      outcome: 'verified',
      terminal: true,
    });
  });

  it('an identity document number starting EXPIRED → required action identity_document_expired', async () => {
    const { sim, adapter } = await kit();
    const user = await adapter.createUser(
      applicant({ identityDocument: { type: 'passport', number: 'EXPIRED-123', country: 'DE' } }),
      ctx(),
    );
    await sim.idle();
    expect(await adapter.getUser(user.providerUserId, ctx())).toMatchObject({
      outcome: 'rejected',
      terminal: false,
      reasons: [{ code: 'document_expired', providerText: 'identity_document_expired' }],
    });
  });
});

describe('Kraken simulator: 408 fault switch (rule 7)', () => {
  it('answers 408 and commits nothing; the adapter classifies it retryable', async () => {
    const { sim, adapter } = await kit();
    sim.setFaults({ requestTimeout: 1 });
    await expect(adapter.createUser(applicant(), ctx())).rejects.toMatchObject({
      name: 'RetryableError',
      status: 408,
    });
    expect(sim.requests().map((r) => r.status)).toEqual([408]);
    expect(sim.users()).toEqual([]);
    expect(() => sim.setFaults({ requestTimeout: 2 })).toThrow(/requestTimeout/);
  });
});

async function waitUntil(cond: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise((r) => setTimeout(r, 10));
  }
}
