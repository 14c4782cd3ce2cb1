/**
 * The Wealthyhood adapter against the Wealthyhood simulator (both real HTTP, on 127.0.0.1:0):
 * Auth0 token caching and re-auth, create in both schema versions, error mapping, adoption on
 * duplicate email, polling outcomes, and the "no webhooks, no retry flow" parts of the port.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ApplicantSchema, type Applicant } from '../../src/kyc/applicant.js';
import { createReasonMapper } from '../../src/kyc/reasons.js';
import { fixedClock, systemClock, type Clock } from '../../src/lib/clock.js';
import { PermanentError, RateLimitedError, RetryableError } from '../../src/providers/errors.js';
import type { ProviderAdapter } from '../../src/providers/provider-adapter.js';
import {
  createWealthyhoodAdapter,
  wealthyhoodInferred,
  type SchemaVersion,
} from '../../src/providers/wealthyhood/index.js';
import {
  sampleWealthyhoodApplicant,
  startWealthyhoodSimulator,
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
  const sim = await startWealthyhoodSimulator({ ...CREDS, decisionDelayMs: 100, ...opts });
  cleanups.push(() => sim.close());
  return sim;
}

function adapterFor(
  sim: WealthyhoodSimulator,
  opts: {
    schema?: SchemaVersion;
    clock?: Clock;
    timeoutMs?: number;
    clientSecret?: string;
    fetch?: typeof fetch;
  } = {},
): ProviderAdapter {
  return createWealthyhoodAdapter({
    baseUrl: sim.url,
    ...CREDS,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    clientSecret: opts.clientSecret ?? CREDS.clientSecret,
    schema: opts.schema ?? 'v2',
    clock: opts.clock ?? systemClock,
    reasons: createReasonMapper(),
    timeoutMs: opts.timeoutMs ?? 2_000,
  });
}

const applicant = (overrides: Record<string, unknown> = {}): Applicant =>
  ApplicantSchema.parse(sampleWealthyhoodApplicant(overrides));
const ctx = (key = 'k') => ({ idempotencyKey: key, signal: AbortSignal.timeout(10_000) });
const tokenCalls = (sim: WealthyhoodSimulator) =>
  sim.requests().filter((r) => r.path === '/oauth/token');
const creates = (sim: WealthyhoodSimulator) =>
  sim.requests().filter((r) => r.method === 'POST' && r.path === '/users');

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('Wealthyhood adapter: create user', () => {
  it.each(['v1', 'v2'] as const)(
    'creates a %s user; the simulator stores exactly the payload of that version',
    async (schema) => {
      const sim = await simulator({ schema });
      const adapter = adapterFor(sim, { schema });
      const a = applicant();
      const user = await adapter.createUser(a, ctx());
      expect(user).toEqual({
        providerUserId: expect.stringMatching(OBJECT_ID),
        adopted: false,
        ...(schema === 'v1' ? { providerStatus: 'pending' } : { providerStatus: undefined }),
      });
      const stored = sim.users();
      expect(stored.map((u) => u.id)).toEqual([user.providerUserId]);
      expect(Object.keys(stored[0]!.body).sort()).toEqual(
        schema === 'v1'
          ? [
              'address',
              'dateOfBirth',
              'email',
              'firstName',
              'lastName',
              'residencyCountry',
              'taxResidency',
            ]
          : [
              'address',
              'dateOfBirth',
              'email',
              'employmentInfo',
              'firstName',
              'language',
              'lastName',
              'nationality',
              'residencyCountry',
              'taxResidency',
            ],
      );
    },
  );

  it('turns field errors into a PermanentError on canonical paths (FullTime without industry, preflight bypassed)', async () => {
    const sim = await simulator();
    const { industry: _i, ...rest } = sampleWealthyhoodApplicant();
    const err = await rejection(adapterFor(sim).createUser(ApplicantSchema.parse(rest), ctx()));
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).status).toBe(400);
    expect((err as PermanentError).details).toEqual([
      { field: 'industry', message: expect.stringContaining('FullTime') },
    ]);
    expect((err as Error).message).toMatch(/HTTP 400 \(fields: industry\)/);
    expect(sim.users()).toHaveLength(0);
  });

  it('a v2-configured adapter against a v1 API is refused with the newer fields named (schema mismatch)', async () => {
    const sim = await simulator({ schema: 'v1' });
    const err = await rejection(adapterFor(sim, { schema: 'v2' }).createUser(applicant(), ctx()));
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).details.map((d) => d.field).sort()).toEqual([
      'employmentInfo',
      'language',
      'nationalities',
    ]);
  });

  it('classifies 5xx as retryable and 429 as rate-limited', async () => {
    const sim = await simulator();
    const adapter = adapterFor(sim);
    await adapter
      .getUser('0'.repeat(24), { signal: AbortSignal.timeout(5_000) })
      .catch(() => undefined); // warm the token
    sim.setFaults({ error: 1 });
    expect(await rejection(adapter.createUser(applicant(), ctx()))).toBeInstanceOf(RetryableError);
    sim.setFaults({ error: 0, ratelimit: 1 });
    const limited = await rejection(adapter.createUser(applicant(), ctx()));
    expect(limited).toBeInstanceOf(RateLimitedError);
    expect((limited as RateLimitedError).retryAfterMs).toBe(1_000);
    expect(sim.users()).toHaveLength(0);
  });
});

describe('Wealthyhood adapter: duplicate email', () => {
  it.each([409, 400] as const)(
    'a create retried after a lost answer adopts the committed user (duplicate answered %i)',
    async (mode) => {
      const sim = await simulator({ duplicateEmail: mode, faults: { commitThenTimeout: 1 } });
      const adapter = adapterFor(sim, { timeoutMs: 400 });
      const a = applicant();
      expect(await rejection(adapter.createUser(a, ctx()))).toBeInstanceOf(RetryableError);
      sim.setFaults({ commitThenTimeout: 0 });
      const user = await adapter.createUser(a, ctx());
      expect(user).toMatchObject({ adopted: true, providerUserId: sim.users()[0]!.id });
      expect(sim.users()).toHaveLength(1);
      expect(creates(sim).map((r) => r.status)).toEqual(['timeout', mode]);
      expect(
        sim
          .requests()
          .some(
            (r) =>
              r.method === 'GET' &&
              r.path === '/users' &&
              r.query === `email=${encodeURIComponent(a.email!)}`,
          ),
      ).toBe(true);
    },
  );

  it('refuses to adopt a user of the same email who is a different person', async () => {
    const sim = await simulator();
    const adapter = adapterFor(sim);
    const a = applicant();
    await adapter.createUser(a, ctx());
    const err = await rejection(
      adapter.createUser({ ...a, externalId: 'other', lastName: 'Georgiou' }, ctx()),
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/different person.*not creating a second user/);
    expect((err as PermanentError).details).toEqual([
      { field: 'email', message: 'already registered at Wealthyhood' },
    ]);
    expect(sim.users()).toHaveLength(1);
  });

  it('gives a clear PermanentError when the existing user cannot be looked up', async () => {
    const sim = await simulator({ emailLookup: false });
    const adapter = adapterFor(sim);
    const a = applicant();
    await adapter.createUser(a, ctx());
    const err = await rejection(adapter.createUser(a, ctx()));
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(
      /already exists and it cannot be looked up \(lookup by email answered HTTP 404\)/,
    );
    expect((err as Error).message).not.toContain(a.email!);
    expect(sim.users()).toHaveLength(1);
  });
});

describe('Wealthyhood adapter: polling outcomes', () => {
  it('reads kycStatus pending, then passed → verified (terminal)', async () => {
    const sim = await simulator({ decisionDelayMs: 1_000 });
    const adapter = adapterFor(sim);
    const { providerUserId } = await adapter.createUser(applicant(), ctx());
    const first = await adapter.getUser(providerUserId, { signal: AbortSignal.timeout(5_000) });
    expect(first).toEqual({
      providerUserId,
      providerStatus: 'pending',
      outcome: 'pending',
      terminal: false,
      reasons: [],
    });
    const done = await waitFor(
      async () => {
        const s = await adapter.getUser(providerUserId, { signal: AbortSignal.timeout(5_000) });
        return s.terminal ? s : undefined;
      },
      { timeoutMs: 5_000, what: 'passed' },
    );
    expect(done).toMatchObject({ providerStatus: 'passed', outcome: 'verified', reasons: [] });
    expect(
      sim
        .requests()
        .filter((r) => r.path === '/users/me')
        .every((r) => r.userId === providerUserId),
    ).toBe(true);
  });

  it('maps failure reasons through the reason taxonomy', async () => {
    const sim = await simulator({ schema: 'v1' });
    const adapter = adapterFor(sim, { schema: 'v1' });
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ lastName: 'Sanctioned' }, 'sanctions_or_pep'],
      [{ taxIds: [{ id: 'EXPIRED-77', country: 'GR' }] }, 'document_expired'],
      [{ lastName: 'Fraud' }, 'fraud_suspected'],
    ];
    for (const [overrides, code] of cases) {
      const { providerUserId } = await adapter.createUser(applicant(overrides), ctx());
      const s = await waitFor(
        async () => {
          const st = await adapter.getUser(providerUserId, { signal: AbortSignal.timeout(5_000) });
          return st.terminal ? st : undefined;
        },
        { timeoutMs: 5_000, what: code },
      );
      expect(s).toMatchObject({
        providerStatus: 'failed',
        outcome: 'rejected',
        reasons: [expect.objectContaining({ code })],
      });
    }
  });

  it('refuses a provider user id that is not an ObjectId without calling Wealthyhood', async () => {
    const sim = await simulator();
    const err = await rejection(
      adapterFor(sim).getUser('not-an-id', { signal: AbortSignal.timeout(5_000) }),
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect(sim.requests()).toHaveLength(0);
  });

  it('a user unknown to Wealthyhood is a PermanentError (404)', async () => {
    const sim = await simulator();
    const err = await rejection(
      adapterFor(sim).getUser('0'.repeat(24), { signal: AbortSignal.timeout(5_000) }),
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).status).toBe(404);
  });
});

describe('Wealthyhood adapter: Auth0 token', () => {
  it('requests one token for many calls, and one for concurrent first calls', async () => {
    const sim = await simulator();
    const adapter = adapterFor(sim);
    await Promise.all([1, 2, 3].map(() => adapter.createUser(applicant(), ctx())));
    const { providerUserId } = await adapter.createUser(applicant(), ctx());
    await adapter.getUser(providerUserId, { signal: AbortSignal.timeout(5_000) });
    expect(tokenCalls(sim)).toHaveLength(1);
    expect(sim.users()).toHaveLength(4);
  });

  it('re-authenticates once on 401 (token expired at Wealthyhood) and the call succeeds', async () => {
    const sim = await simulator();
    const adapter = adapterFor(sim);
    const { providerUserId } = await adapter.createUser(applicant(), ctx());
    sim.expireTokens();
    const state = await adapter.getUser(providerUserId, { signal: AbortSignal.timeout(5_000) });
    expect(state.providerUserId).toBe(providerUserId);
    expect(sim.requests().map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /oauth/token 200',
      'POST /users 201',
      'GET /users/me 401',
      'POST /oauth/token 200',
      'GET /users/me 200',
    ]);
  });

  it('refreshes shortly before expires_in by its own clock, without a 401', async () => {
    const clock = fixedClock('2026-03-01T10:00:00Z');
    const sim = await simulator({ clock, tokenTtlSeconds: 600 });
    const adapter = adapterFor(sim, { clock });
    const { providerUserId } = await adapter.createUser(applicant(), ctx());
    clock.advance(541_000); // past 600 s − 60 s margin, still before expiry
    await adapter.getUser(providerUserId, { signal: AbortSignal.timeout(5_000) });
    expect(tokenCalls(sim)).toHaveLength(2);
    expect(sim.requests().some((r) => r.status === 401)).toBe(false);
  });

  it('wrong client credentials are a PermanentError and no API call is made', async () => {
    const sim = await simulator();
    const err = await rejection(
      adapterFor(sim, { clientSecret: 'wrong' }).createUser(applicant(), ctx()),
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/auth failed: HTTP 401 access_denied/);
    expect(creates(sim)).toHaveLength(0);
  });

  it('a token without write:users is refused with the scope named', async () => {
    const sim = await simulator({ grantedScopes: ['read:users'] });
    const err = await rejection(adapterFor(sim).createUser(applicant(), ctx()));
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/HTTP 403 insufficient_scope.*needs scope write:users/);
  });
});

describe('Wealthyhood adapter: no webhooks, no retry flow', () => {
  it('refuses every webhook and has no remediation', async () => {
    const sim = await simulator();
    const adapter = adapterFor(sim);
    expect(adapter.verifyWebhook({ body: Buffer.from('{}'), headers: {} }, new Date())).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(
      adapter.parseWebhook({}, { body: Buffer.from('{}'), headers: {} }, new Date()),
    ).toMatchObject({ kind: 'unusable' });
    const err = await rejection(
      adapter.remediate(
        { providerUserId: '0'.repeat(24), applicant: applicant(), reasons: [], attempt: 1 },
        ctx(),
      ),
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/no way to re-run KYC/);
    expect(sim.requests()).toHaveLength(0);
  });
});

describe('Wealthyhood adapter: the inferred parts come from inferred.ts', () => {
  /** The simulator behind a fetch that rewrites one answer (what the simulator cannot be told to do). */
  const rewriting =
    (
      rewrite: (
        url: URL,
        init: RequestInit | undefined,
        res: Response,
      ) => Promise<Response> | Response,
    ): typeof fetch =>
    async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      return rewrite(url, init, await fetch(input, init));
    };

  it('a token answer without expires_in lives DEFAULT_TOKEN_EXPIRES_IN_S (3600 s, minus the refresh margin)', async () => {
    expect(wealthyhoodInferred.DEFAULT_TOKEN_EXPIRES_IN_S).toBe(3600);
    const clock = fixedClock('2026-03-01T10:00:00Z');
    const sim = await simulator({ clock, tokenTtlSeconds: 7200 });
    const noExpiry = rewriting(async (url, _init, res) => {
      if (url.pathname !== '/oauth/token') return res;
      const { expires_in: _e, ...body } = (await res.json()) as Record<string, unknown>;
      return Response.json(body, { status: res.status });
    });
    const adapter = adapterFor(sim, { clock, fetch: noExpiry });
    const { providerUserId } = await adapter.createUser(applicant(), ctx());
    const get = () => adapter.getUser(providerUserId, { signal: AbortSignal.timeout(5_000) });
    clock.advance((wealthyhoodInferred.DEFAULT_TOKEN_EXPIRES_IN_S - 61) * 1000);
    await get();
    expect(tokenCalls(sim)).toHaveLength(1);
    clock.advance(2_000);
    await get();
    expect(tokenCalls(sim)).toHaveLength(2);
  });

  it('an email lookup answering 405 (one of LOOKUP_UNSUPPORTED_STATUSES) cannot adopt: a clear PermanentError', async () => {
    expect([...wealthyhoodInferred.LOOKUP_UNSUPPORTED_STATUSES]).toEqual([404, 405, 501]);
    const sim = await simulator();
    const a = applicant();
    await adapterFor(sim).createUser(a, ctx());
    const noLookup = rewriting((url, init, res) =>
      (init?.method ?? 'GET') === 'GET' && url.pathname === '/users'
        ? new Response(null, { status: 405 })
        : res,
    );
    const err = await rejection(adapterFor(sim, { fetch: noLookup }).createUser(a, ctx()));
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(
      /cannot be looked up \(lookup by email answered HTTP 405\).*not creating a second user/,
    );
    expect(sim.users()).toHaveLength(1);
  });

  it('kycStatus failed without any reason: our own reason, which blames no webhook (Wealthyhood has none)', async () => {
    const sim = await simulator();
    const bare = rewriting(async (url, _init, res) => {
      if (url.pathname !== '/users/me') return res;
      const { kycFailureReasons: _r, ...user } = (await res.json()) as Record<string, unknown>;
      return Response.json(user, { status: res.status });
    });
    const adapter = adapterFor(sim, { fetch: bare });
    const { providerUserId } = await adapter.createUser(applicant({ lastName: 'Fraud' }), ctx());
    await sim.idle();
    const state = await adapter.getUser(providerUserId, { signal: AbortSignal.timeout(5_000) });
    expect(state).toMatchObject({ outcome: 'rejected', terminal: true });
    expect(state.reasons).toEqual([
      { code: 'unknown', providerText: wealthyhoodInferred.FAILED_WITHOUT_REASONS },
    ]);
    expect(state.reasons[0]!.providerText).not.toMatch(/undelivered|lost with/);
  });
});
