/**
 * The Kira adapter against the Kira simulator (both real HTTP, on 127.0.0.1:0).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Applicant } from '../../src/kyc/applicant.js';
import { createReasonMapper } from '../../src/kyc/reasons.js';
import type { ProviderEvent } from '../../src/kyc/types.js';
import { systemClock } from '../../src/lib/clock.js';
import { RetryableError } from '../../src/providers/errors.js';
import { createKiraAdapter } from '../../src/providers/kira/index.js';
import type { ProviderAdapter, RawWebhook } from '../../src/providers/provider-adapter.js';
import {
  startKiraSimulator,
  type KiraSimulator,
  type KiraSimulatorOptions,
} from '../../src/simulators/kira/index.js';

const CREDS = {
  apiKey: 'sim-api-key',
  clientId: '6f1c2b8e-0d7a-4c1e-9a0b-3d5e7f9a1b2c',
  password: 'sim-password',
};
const SECRET = 'sim_webhook_secret';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function simulator(opts: Partial<KiraSimulatorOptions> = {}): Promise<KiraSimulator> {
  const sim = await startKiraSimulator({ ...CREDS, webhookSecrets: [SECRET], ...opts });
  cleanups.push(() => sim.close());
  return sim;
}

function adapterFor(sim: KiraSimulator, timeoutMs = 2_000): ProviderAdapter {
  return createKiraAdapter({
    baseUrl: sim.url,
    ...CREDS,
    webhookSecrets: [SECRET],
    clock: systemClock,
    reasons: createReasonMapper(),
    timeoutMs,
  });
}

async function waitFor(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A webhook receiver that verifies and parses every delivery with the adapter. */
async function receiver(
  adapter: ProviderAdapter,
): Promise<{ url: string; events: ProviderEvent[]; rejected: number }> {
  const out = { url: '', events: [] as ProviderEvent[], rejected: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw: RawWebhook = { body: Buffer.concat(chunks), headers: req.headers };
      if (!adapter.verifyWebhook(raw, systemClock.now()).ok) {
        out.rejected += 1;
        return void res.writeHead(401).end();
      }
      const parsed = adapter.parseWebhook(
        JSON.parse(raw.body.toString('utf8')),
        raw,
        systemClock.now(),
      );
      if (parsed.kind === 'event') out.events.push(parsed.event);
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  out.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/kira`;
  return out;
}

function applicant(over: Partial<Applicant> = {}): Applicant {
  return {
    externalId: `ext-${randomUUID()}`,
    email: 'ana@example.com',
    phone: '+5215512345678',
    firstName: 'Ana',
    lastName: 'Lopez',
    dateOfBirth: '1990-04-02',
    gender: 'female',
    language: 'es',
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
    identityDocument: {
      type: 'passport',
      number: 'G12345678',
      country: 'MX',
      expiresOn: '2031-01-01',
    },
    pep: false,
    ...over,
  };
}

const ctx = (idempotencyKey: string) => ({ idempotencyKey, signal: new AbortController().signal });

describe('kira adapter vs simulator', () => {
  it('creates a user, reads it back pending, then verified after the Kira contact flips it', async () => {
    const sim = await simulator({ autoVerify: false });
    const adapter = adapterFor(sim);
    const a = applicant();
    expect(adapter.preflight(a)).toEqual([]);
    const created = await adapter.createUser(a, ctx(randomUUID()));
    expect(created.adopted).toBe(false);
    const [simUser] = sim.users();
    expect(simUser?.userId).toBe(created.providerUserId);
    expect(simUser?.externalId).toBe(a.externalId);
    expect(simUser?.fields).toMatchObject({
      nationality: 'MEX',
      address_country: 'MEX',
      document_country: 'MEX',
      source_of_funds: 'salary',
    });

    const pending = await adapter.getUser(created.providerUserId, {
      signal: new AbortController().signal,
    });
    expect(pending).toMatchObject({
      providerUserId: created.providerUserId,
      outcome: 'pending',
      terminal: false,
    });

    sim.flip(created.providerUserId, 'VERIFIED');
    const verified = await adapter.getUser(created.providerUserId, {
      signal: new AbortController().signal,
    });
    expect(verified).toMatchObject({
      providerStatus: 'VERIFIED',
      outcome: 'verified',
      terminal: true,
      reasons: [],
    });
  });

  it.each(['replay', 'conflict'] as const)(
    'commit-then-timeout, then a retry with the same key leaves exactly one user (idempotencyReplay %s)',
    async (mode) => {
      const sim = await simulator({
        idempotencyReplay: mode,
        autoVerify: false,
        faults: { commitThenTimeout: 1 },
      });
      const adapter = adapterFor(sim, 300);
      const a = applicant();
      const key = randomUUID();
      await expect(adapter.createUser(a, ctx(key))).rejects.toBeInstanceOf(RetryableError);
      expect(sim.users()).toHaveLength(1);

      sim.setFaults({ commitThenTimeout: 0 });
      const retried = await adapter.createUser(a, ctx(key));
      expect(retried.adopted).toBe(mode === 'conflict');
      expect(sim.users()).toHaveLength(1);
      expect(sim.users()[0]?.userId).toBe(retried.providerUserId);
      const creates = sim.requests().filter((r) => r.method === 'POST' && r.path === '/v1/users');
      expect(creates.map((r) => r.idempotencyKey)).toEqual([key, key]);
    },
  );

  it('adopts after a 409 by reading the user by id when list items carry no external_id', async () => {
    const sim = await simulator({
      idempotencyReplay: 'conflict',
      autoVerify: false,
      listItemsCarryExternalId: false,
      faults: { commitThenTimeout: 1 },
    });
    const adapter = adapterFor(sim, 300);
    const a = applicant();
    const key = randomUUID();
    await expect(adapter.createUser(a, ctx(key))).rejects.toBeInstanceOf(RetryableError);
    sim.setFaults({ commitThenTimeout: 0 });
    const adopted = await adapter.createUser(a, ctx(key));
    expect(adopted).toMatchObject({ adopted: true, providerUserId: sim.users()[0]?.userId });
    expect(sim.users()).toHaveLength(1);
    expect(
      sim
        .requests()
        .map((r) => `${r.method} ${r.path} ${String(r.status)}`)
        .slice(-3),
    ).toEqual([
      'POST /v1/users 409',
      'GET /v1/users 200',
      `GET /v1/users/${adopted.providerUserId} 200`,
    ]);
  });

  it('sends the tax id in identifying_information and folds address line2 into address_street', async () => {
    const sim = await simulator({ autoVerify: false });
    const adapter = adapterFor(sim);
    const a = applicant({
      middleName: 'Maria',
      taxIds: [
        { id: '123-45-6789', country: 'US' },
        { id: 'LOAA900402XX1', country: 'MX' },
      ],
      address: {
        line1: 'Av. Reforma 1',
        line2: 'Piso 3',
        city: 'CDMX',
        postalCode: '06600',
        region: 'CDMX',
        country: 'MX',
      },
    });
    await adapter.createUser(a, ctx(randomUUID()));
    const [simUser] = sim.users();
    expect(simUser?.fields.identifying_information).toEqual([
      { type: 'ssn', issuing_country: 'USA', number: '123-45-6789' },
      { type: 'tax_id', issuing_country: 'MEX', number: 'LOAA900402XX1' },
    ]);
    expect(simUser?.fields.address_street).toBe('Av. Reforma 1, Piso 3');
    expect(Object.keys(simUser?.fields ?? {})).not.toContain('middle_name');
  });

  it('remediation of a user that was verified meanwhile does not re-issue: the verdict stands', async () => {
    const sim = await simulator({ autoRejectDelayMs: 20, autoVerify: false });
    const adapter = adapterFor(sim);
    const { providerUserId } = await adapter.createUser(
      applicant({ firstName: 'Sessionexpired' }),
      ctx(randomUUID()),
    );
    sim.flip(providerUserId, 'REJECTED', ['Verification session expired']);
    sim.flip(providerUserId, 'VERIFIED');
    const detail = await adapter.remediate(
      {
        providerUserId,
        applicant: applicant(),
        reasons: [{ code: 'session_expired', providerText: 'Verification session expired' }],
        attempt: 1,
        changedFields: [],
      },
      ctx(randomUUID()),
    );
    expect(detail).toBe(
      'verification not re-issued: the Kira user is VERIFIED, no longer REJECTED',
    );
    expect(sim.users()[0]).toMatchObject({ status: 'VERIFIED', verificationAttempts: 1 });
  });

  it('remediates an auto-rejected user: PUTs source_of_funds and moves it out of REJECTED', async () => {
    const sim = await simulator({ autoRejectDelayMs: 50, autoVerify: false });
    const adapter = adapterFor(sim);
    const hooks = await receiver(adapter);
    sim.setWebhookUrl(hooks.url);
    const a = applicant({ sourceOfFunds: undefined });
    expect(adapter.preflight(a).map((p) => p.field)).toEqual(['sourceOfFunds']);

    const { providerUserId } = await adapter.createUser(a, ctx(randomUUID()));
    await waitFor(() => hooks.events.some((e) => e.type === 'user.verification.failed'));
    const failed = hooks.events.find((e) => e.type === 'user.verification.failed');
    expect(hooks.rejected).toBe(0);
    expect(failed).toMatchObject({ userRef: providerUserId, outcome: 'rejected', terminal: true });
    expect(failed?.reasons).toEqual([
      expect.objectContaining({ code: 'missing_data', field: 'sourceOfFunds' }),
    ]);
    const polled = await adapter.getUser(providerUserId, { signal: new AbortController().signal });
    expect(polled).toMatchObject({
      providerStatus: 'REJECTED',
      outcome: 'rejected',
      terminal: true,
      reasons: [],
    });

    const detail = await adapter.remediate(
      {
        providerUserId,
        applicant: { ...a, sourceOfFunds: 'salary' },
        reasons: failed?.reasons ?? [],
        attempt: 1,
        changedFields: [],
      },
      ctx(randomUUID()),
    );
    expect(detail).toBe('PUT source_of_funds; verification re-issued');
    const [simUser] = sim.users();
    expect(simUser?.fields.source_of_funds).toBe('salary');
    expect(simUser?.status).not.toBe('REJECTED');
    const after = await adapter.getUser(providerUserId, { signal: new AbortController().signal });
    expect(after).toMatchObject({ outcome: 'pending', terminal: false });
  });
});
