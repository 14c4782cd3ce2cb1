/**
 * The Wealthyhood simulator over real HTTP (127.0.0.1:0): Auth0 token endpoint and scopes,
 * validation per schema version with field-level errors (fed with the adapter's own payloads),
 * ObjectIds, duplicate email, x-user-id, kycStatus progression, and fault switches.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ApplicantSchema } from '../../src/kyc/applicant.js';
import { fixedClock } from '../../src/lib/clock.js';
import { buildCreatePayload, type SchemaVersion } from '../../src/providers/wealthyhood/index.js';
import {
  sampleWealthyhoodApplicant,
  startWealthyhoodSimulator,
  WEALTHYHOOD_SIM_REASONS,
  type WealthyhoodSimulator,
  type WealthyhoodSimulatorOptions,
} from '../../src/simulators/wealthyhood/index.js';
import { waitFor } from '../helpers/wait.js';

const CREDS = {
  clientId: 'wh-client',
  clientSecret: 'wh-secret',
  audience: 'https://api.wealthyhood.test',
};
const OBJECT_ID = /^[a-f0-9]{24}$/;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function simulator(
  opts: Partial<WealthyhoodSimulatorOptions> = {},
): Promise<WealthyhoodSimulator> {
  const sim = await startWealthyhoodSimulator({ ...CREDS, decisionDelayMs: 50, ...opts });
  cleanups.push(() => sim.close());
  return sim;
}

async function call(
  sim: WealthyhoodSimulator,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const res = await fetch(`${sim.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

async function token(
  sim: WealthyhoodSimulator,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await call(sim, '/oauth/token', {
    body: {
      grant_type: 'client_credentials',
      client_id: CREDS.clientId,
      client_secret: CREDS.clientSecret,
      audience: CREDS.audience,
      ...extra,
    },
  });
  expect(res.status).toBe(200);
  return res.body.access_token as string;
}

const bearer = (t: string, userId?: string) => ({
  authorization: `Bearer ${t}`,
  ...(userId ? { 'x-user-id': userId } : {}),
});

function payload(
  version: SchemaVersion,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return buildCreatePayload(ApplicantSchema.parse(sampleWealthyhoodApplicant(overrides)), version);
}

describe('Wealthyhood simulator: POST /oauth/token', () => {
  it('issues a Bearer token with expires_in and the granted scopes', async () => {
    const sim = await simulator({ tokenTtlSeconds: 120 });
    const res = await call(sim, '/oauth/token', {
      body: {
        grant_type: 'client_credentials',
        client_id: CREDS.clientId,
        client_secret: CREDS.clientSecret,
        audience: CREDS.audience,
      },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      access_token: expect.stringMatching(/^ey/),
      token_type: 'Bearer',
      expires_in: 120,
      scope: 'read:users write:users',
    });
  });

  it('refuses bad credentials, a wrong or missing audience, a wrong grant type and ungranted scopes', async () => {
    const sim = await simulator({ grantedScopes: ['read:users'] });
    const base = {
      grant_type: 'client_credentials',
      client_id: CREDS.clientId,
      client_secret: CREDS.clientSecret,
      audience: CREDS.audience,
    };
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ ...base, client_secret: 'wrong' }, 401, 'access_denied'],
      [{ ...base, audience: 'https://other.test' }, 403, 'access_denied'],
      [{ ...base, audience: undefined }, 403, 'access_denied'],
      [{ ...base, grant_type: 'password' }, 400, 'unsupported_grant_type'],
      [{ ...base, scope: 'write:users' }, 403, 'access_denied'],
    ];
    for (const [body, status, error] of cases) {
      const res = await call(sim, '/oauth/token', { body });
      expect(res.status).toBe(status);
      expect(res.body).toEqual({ error, error_description: expect.any(String) });
    }
  });

  it('protects routes by scope, and refuses missing, unknown and expired tokens', async () => {
    const clock = fixedClock('2026-03-01T10:00:00Z');
    const sim = await simulator({ grantedScopes: ['read:users'], tokenTtlSeconds: 60, clock });
    const readOnly = await token(sim);
    const create = await call(sim, '/users', { body: payload('v2'), headers: bearer(readOnly) });
    expect(create.status).toBe(403);
    expect(create.headers.get('www-authenticate')).toMatch(
      /error="insufficient_scope".*scope="write:users"/,
    );
    expect((await call(sim, '/users', { body: payload('v2') })).status).toBe(401);
    const unknown = await call(sim, '/users', { body: payload('v2'), headers: bearer('nope') });
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    expect((await call(sim, '/users?email=a%40b.co', { headers: bearer(readOnly) })).status).toBe(
      200,
    );
    clock.advance(60_000);
    const expired = await call(sim, '/users?email=a%40b.co', { headers: bearer(readOnly) });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toMatch(/The access token expired/);
    expect(sim.users()).toHaveLength(0);
  });
});

describe('Wealthyhood simulator: POST /users', () => {
  it('accepts the adapter-built v1 payload: 201 with an ObjectId, emailVerified false, kycStatus pending', async () => {
    const sim = await simulator({ schema: 'v1' });
    const t = await token(sim);
    const body = payload('v1');
    const res = await call(sim, '/users', { body, headers: bearer(t) });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(OBJECT_ID),
      email: body.email,
      emailVerified: false,
      kycStatus: 'pending',
      portfolios: [],
    });
    expect(res.body.createdAt).toBe(res.body.updatedAt);
    expect(sim.users().map((u) => u.id)).toEqual([res.body.id]);
  });

  it('accepts the adapter-built v2 payload: 201 with portfolios and nationalities, no kycStatus', async () => {
    const sim = await simulator({ schema: 'v2' });
    const t = await token(sim);
    const res = await call(sim, '/users', { body: payload('v2'), headers: bearer(t) });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(OBJECT_ID),
      portfolios: [],
      nationalities: ['GR'],
      language: 'el',
    });
    expect(res.body).not.toHaveProperty('kycStatus');
    expect(res.body).not.toHaveProperty('emailVerified');
  });

  it('v2 rejects the conditional rules with field errors: FullTime without industry, partial address and taxResidency', async () => {
    const sim = await simulator({ schema: 'v2' });
    const t = await token(sim);
    const body = payload('v2', { industry: undefined });
    const res = await call(sim, '/users', { body, headers: bearer(t) });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { field: 'employmentInfo.industry', message: expect.stringContaining('FullTime') },
    ]);

    const partial = payload('v2');
    delete (partial.address as Record<string, unknown>).postalCode;
    delete (partial.taxResidency as Record<string, unknown>).proofType;
    delete (partial.employmentInfo as Record<string, unknown>).sourcesOfWealth;
    partial.nationality = 'gr';
    const res2 = await call(sim, '/users', { body: partial, headers: bearer(t) });
    expect(res2.status).toBe(400);
    expect(res2.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'address.postalCode',
      'employmentInfo.sourcesOfWealth',
      'nationality',
      'taxResidency.proofType',
    ]);
    expect(sim.users()).toHaveLength(0);
  });

  it('v1 rejects the conditional rules with field errors, and refuses the newer fields', async () => {
    const sim = await simulator({ schema: 'v1' });
    const t = await token(sim);
    const body = payload('v1');
    delete (body.address as Record<string, unknown>).city;
    delete (body.taxResidency as Record<string, unknown>).value;
    body.residencyCountry = 'Greece';
    const res = await call(sim, '/users', { body, headers: bearer(t) });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, message: 'Validation failed' });
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'address.city',
      'residencyCountry',
      'taxResidency.value',
    ]);

    const newer = await call(sim, '/users', { body: payload('v2'), headers: bearer(t) });
    expect(newer.status).toBe(400);
    expect(newer.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'employmentInfo',
      'language',
      'nationality',
    ]);
    expect(sim.users()).toHaveLength(0);
  });

  it('refuses a second user with the same email: 409 by default, 400 with an email field error when configured', async () => {
    for (const mode of [409, 400] as const) {
      const sim = await simulator({ duplicateEmail: mode });
      const t = await token(sim);
      const body = payload('v2');
      expect((await call(sim, '/users', { body, headers: bearer(t) })).status).toBe(201);
      const again = await call(sim, '/users', {
        body: { ...body, email: String(body.email).toUpperCase() },
        headers: bearer(t),
      });
      expect(again.status).toBe(mode);
      if (mode === 400) {
        expect(again.body.errors).toEqual([{ field: 'email', message: 'email already exists' }]);
      }
      expect(sim.users()).toHaveLength(1);
    }
  });
});

describe('Wealthyhood simulator: user-scoped reads and kycStatus', () => {
  it('checks x-user-id, then moves kycStatus pending → passed for a complete applicant', async () => {
    const sim = await simulator({ decisionDelayMs: 1_500 });
    const t = await token(sim);
    const created = await call(sim, '/users', { body: payload('v2'), headers: bearer(t) });
    const id = created.body.id as string;
    const pending = await call(sim, '/users/me', { headers: bearer(t, id) });
    expect(pending.body).toMatchObject({ id, kycStatus: 'pending' });
    expect(pending.body).not.toHaveProperty('kycFailureReasons');
    expect((await call(sim, '/users/me', { headers: bearer(t) })).status).toBe(400);
    expect((await call(sim, '/users/me', { headers: bearer(t, 'XYZ') })).status).toBe(400);
    expect((await call(sim, '/users/me', { headers: bearer(t, '0'.repeat(24)) })).status).toBe(404);
    await waitFor(
      async () =>
        (await call(sim, '/users/me', { headers: bearer(t, id) })).body.kycStatus === 'passed',
      { timeoutMs: 5_000, what: 'passed' },
    );
    const found = await call(
      sim,
      `/users?email=${encodeURIComponent(String(created.body.email))}`,
      { headers: bearer(t) },
    );
    expect(found.body.users).toEqual([expect.objectContaining({ id, kycStatus: 'passed' })]);
    expect(
      sim
        .requests()
        .filter((r) => r.path === '/users/me')
        .map((r) => r.userId),
    ).toContain(id);
  });

  it('fails Sanctioned, EXPIRED tax-document, Fraud and Sessionexpired applicants with reasons', async () => {
    const sim = await simulator();
    const t = await token(sim);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ lastName: 'Sanctioned' }, WEALTHYHOOD_SIM_REASONS.sanctions],
      [{ taxIds: [{ id: 'EXPIRED-1', country: 'GR' }] }, WEALTHYHOOD_SIM_REASONS.documentExpired],
      [{ lastName: 'Fraud' }, WEALTHYHOOD_SIM_REASONS.fraud],
      [{ firstName: 'Sessionexpired' }, WEALTHYHOOD_SIM_REASONS.sessionExpired],
    ];
    for (const [overrides, reason] of cases) {
      const created = await call(sim, '/users', {
        body: payload('v2', overrides),
        headers: bearer(t),
      });
      const id = created.body.id as string;
      const user = await waitFor(
        async () => {
          const r = await call(sim, '/users/me', { headers: bearer(t, id) });
          return r.body.kycStatus === 'failed' ? r.body : undefined;
        },
        { timeoutMs: 5_000, what: reason },
      );
      expect(user.kycFailureReasons).toEqual([reason]);
    }
  });

  it('answers 404 to the email lookup when it is switched off', async () => {
    const sim = await simulator({ emailLookup: false });
    const t = await token(sim);
    expect((await call(sim, '/users?email=a%40b.co', { headers: bearer(t) })).status).toBe(404);
  });

  it('updates employment info (documented PATCH) with the same conditional rules', async () => {
    const sim = await simulator();
    const t = await token(sim);
    const id = (await call(sim, '/users', { body: payload('v2'), headers: bearer(t) })).body
      .id as string;
    const bad = await call(sim, '/users/me/employment-info', {
      method: 'PATCH',
      body: {
        employmentInfo: {
          incomeRangeId: '3',
          employmentStatus: 'PartTime',
          sourcesOfWealth: ['Savings'],
        },
      },
      headers: bearer(t, id),
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([
      expect.objectContaining({ field: 'employmentInfo.industry' }),
    ]);
    const ok = await call(sim, '/users/me/employment-info', {
      method: 'PATCH',
      body: {
        employmentInfo: {
          incomeRangeId: '3',
          employmentStatus: 'Retired',
          sourcesOfWealth: ['Savings'],
        },
      },
      headers: bearer(t, id),
    });
    expect(ok.status).toBe(200);
    expect(sim.users()[0]!.body.employmentInfo).toEqual({
      incomeRangeId: '3',
      employmentStatus: 'Retired',
      sourcesOfWealth: ['Savings'],
    });
  });
});

describe('Wealthyhood simulator: faults', () => {
  it('answers 5xx, 429 with Retry-After, and never answers a committed create (commitThenTimeout)', async () => {
    const sim = await simulator();
    const t = await token(sim);
    sim.setFaults({ error: 1 });
    expect([500, 503]).toContain(
      (await call(sim, '/users/me', { headers: bearer(t, '0'.repeat(24)) })).status,
    );
    sim.setFaults({ error: 0, ratelimit: 1 });
    const limited = await call(sim, '/users', { body: payload('v2'), headers: bearer(t) });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    sim.setFaults({ ratelimit: 0, commitThenTimeout: 1 });
    await expect(
      fetch(`${sim.url}/users`, {
        method: 'POST',
        headers: { ...bearer(t), 'content-type': 'application/json' },
        body: JSON.stringify(payload('v2')),
        signal: AbortSignal.timeout(300),
      }),
    ).rejects.toThrow();
    expect(sim.users()).toHaveLength(1);
    expect(sim.requests().at(-1)).toMatchObject({
      method: 'POST',
      path: '/users',
      status: 'timeout',
    });
  });

  it('a timeout fault commits nothing', async () => {
    const sim = await simulator({ faults: { timeout: 1 } });
    await expect(
      fetch(`${sim.url}/oauth/token`, { method: 'POST', signal: AbortSignal.timeout(200) }),
    ).rejects.toThrow();
    expect(sim.users()).toHaveLength(0);
  });
});
