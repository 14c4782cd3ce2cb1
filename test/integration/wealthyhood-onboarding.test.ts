/**
 * Wealthyhood end to end: the service (api + workers, real Redis) against the Wealthyhood
 * simulator. Outcomes arrive by polling only (no webhooks exist).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { offsetClock } from '../../src/lib/clock.js';
import {
  sampleWealthyhoodApplicant,
  startWealthyhoodSimulator,
  type WealthyhoodSimulator,
  type WealthyhoodSimulatorOptions,
} from '../../src/simulators/wealthyhood/index.js';
import { startStack, testConfig, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

interface WhStack {
  stack: Stack;
  sim: WealthyhoodSimulator;
}

async function start(
  opts: {
    schema?: 'v1' | 'v2';
    env?: Record<string, string>;
    sim?: Partial<WealthyhoodSimulatorOptions>;
  } = {},
): Promise<WhStack> {
  const schema = opts.schema ?? 'v2';
  const c = testConfig();
  const sim = await startWealthyhoodSimulator({
    clientId: c.WEALTHYHOOD_CLIENT_ID,
    clientSecret: c.WEALTHYHOOD_CLIENT_SECRET,
    audience: c.WEALTHYHOOD_AUDIENCE,
    schema,
    decisionDelayMs: 300,
    ...opts.sim,
  });
  cleanups.push(() => sim.close());
  const stack = await startStack({
    providerUrls: { wealthyhood: sim.url },
    env: {
      RECONCILE_SCHEDULE: '200ms',
      RECONCILE_TICK: '100ms',
      PROVIDER_TIMEOUT: '500ms',
      WEALTHYHOOD_AUTH_URL: sim.url,
      WEALTHYHOOD_SCHEMA: schema,
      ...opts.env,
    },
  });
  cleanups.push(() => stack.close());
  return { stack, sim };
}

async function onboard(s: Stack, a: Record<string, unknown>): Promise<string> {
  const res = await s.api('/v1/onboardings', { body: { provider: 'wealthyhood', applicant: a } });
  expect(res.status).toBe(202);
  return res.body.caseId as string;
}

async function until(s: Stack, caseId: string, status: string, timeoutMs = 20_000) {
  return waitFor(
    async () => {
      const r = await s.api(`/v1/cases/${caseId}`);
      return r.body.status === status ? r.body : undefined;
    },
    { timeoutMs, what: `case ${caseId} to be ${status}` },
  );
}

const creates = (sim: WealthyhoodSimulator) =>
  sim.requests().filter((r) => r.method === 'POST' && r.path === '/users');
const jobFailures = (s: Stack) =>
  s.logs.filter((l) => l.includes('provider-wealthyhood') && /job failed/.test(l));
const events = (c: { timeline: { event: string }[] }) => c.timeline.map((e) => e.event);

describe('Wealthyhood onboarding end to end', () => {
  it.each(['v1', 'v2'] as const)(
    '%s: a complete applicant is verified by polling alone',
    async (schema) => {
      const { stack, sim } = await start({ schema });
      const a = sampleWealthyhoodApplicant();
      const caseId = await onboard(stack, a);
      const c = await until(stack, caseId, 'verified');
      expect(c.providerUserId).toMatch(/^[a-f0-9]{24}$/);
      expect(c.providerStatus).toBe('passed');
      expect(events(c)).toContain('provider_user_created');
      expect(c.timeline.at(-1)).toMatchObject({ to: 'verified', source: 'poll' });
      expect(c.timeline.some((e: { source: string }) => e.source === 'webhook')).toBe(false);
      expect(sim.users()).toHaveLength(1);
      expect(
        sim
          .requests()
          .filter((r) => r.path === '/users/me')
          .every((r) => r.userId === c.providerUserId),
      ).toBe(true);
      expect(jobFailures(stack)).toEqual([]);
    },
  );

  it('escalates a sanctions match, rejects fraud, and escalates an expired session (no retry flow at Wealthyhood)', async () => {
    const { stack } = await start();
    const sanctioned = await onboard(stack, sampleWealthyhoodApplicant({ lastName: 'Sanctioned' }));
    const fraud = await onboard(stack, sampleWealthyhoodApplicant({ lastName: 'Fraud' }));
    const session = await onboard(
      stack,
      sampleWealthyhoodApplicant({ firstName: 'Sessionexpired' }),
    );

    const s = await until(stack, sanctioned, 'escalated');
    expect(s.reasons).toEqual([
      expect.objectContaining({
        code: 'sanctions_or_pep',
        providerText: 'Sanctions screening match',
      }),
    ]);
    expect(s.providerStatus).toBe('failed');
    expect(s.timeline.at(-1)).toMatchObject({ to: 'escalated', source: 'poll' });

    const f = await until(stack, fraud, 'rejected');
    expect(f.reasons).toEqual([expect.objectContaining({ code: 'fraud_suspected' })]);

    // session_expired would remediate, but Wealthyhood has no re-run: the remediation fails and escalates.
    const e = await until(stack, session, 'escalated');
    expect(events(e)).toEqual(expect.arrayContaining(['remediation_failed']));
    expect(e.reasons).toEqual([
      expect.objectContaining({
        code: 'provider_error',
        providerText: expect.stringContaining('no way to re-run KYC'),
      }),
    ]);
  });

  it('PREFLIGHT=enforce: FullTime without industry escalates before any call; supplying it resumes to verified', async () => {
    const { stack, sim } = await start();
    const { industry: _i, ...incomplete } = sampleWealthyhoodApplicant();
    const caseId = await onboard(stack, incomplete);
    const c = await until(stack, caseId, 'escalated');
    expect(c.escalation.needsFields).toEqual(['industry']);
    expect(creates(sim)).toHaveLength(0);
    const patched = await stack.api(`/v1/cases/${caseId}/applicant`, {
      method: 'PATCH',
      body: { industry: 'FinanceAndInsurance' },
    });
    expect(patched.status).toBe(202);
    await until(stack, caseId, 'verified');
    expect(sim.users()[0]!.body.employmentInfo).toMatchObject({ industry: 'FinanceAndInsurance' });
  });

  it('PREFLIGHT=off: the simulator refuses FullTime without industry and the case escalates with the field error', async () => {
    const { stack, sim } = await start({ env: { PREFLIGHT: 'off' } });
    const { industry: _i, ...incomplete } = sampleWealthyhoodApplicant();
    const caseId = await onboard(stack, incomplete);
    const c = await until(stack, caseId, 'escalated');
    expect(c.providerErrors).toEqual([expect.objectContaining({ field: 'industry' })]);
    expect(creates(sim).map((r) => r.status)).toEqual([400]);
    expect(sim.users()).toHaveLength(0);
  });

  it('a token that expires mid-run is renewed after one 401 and no job fails', async () => {
    let offsetMs = 0;
    const { stack, sim } = await start({
      sim: { clock: offsetClock(() => offsetMs), decisionDelayMs: 1_500 },
    });
    const caseId = await onboard(stack, sampleWealthyhoodApplicant());
    // Wait until polling is under way with the first token, then let it expire at Wealthyhood.
    await waitFor(() => sim.requests().some((r) => r.path === '/users/me' && r.status === 200), {
      what: 'a first poll',
    });
    offsetMs = 2 * 3_600_000;
    const c = await until(stack, caseId, 'verified');
    const log = sim.requests();
    const firstExpired = log.findIndex((r) => r.path === '/users/me' && r.status === 401);
    expect(firstExpired).toBeGreaterThan(0);
    expect(log.slice(firstExpired + 1).find((r) => r.path === '/oauth/token')?.status).toBe(200);
    expect(log.filter((r) => r.path === '/oauth/token')).toHaveLength(2);
    expect(c.timeline.at(-1)).toMatchObject({ to: 'verified', source: 'poll' });
    expect(jobFailures(stack)).toEqual([]);
  });

  it.each([409, 400] as const)(
    'a create that commits and then times out is retried into one user per case (duplicate email answered %i)',
    async (mode) => {
      const { stack, sim } = await start({
        sim: { duplicateEmail: mode, faults: { commitThenTimeout: 1 } },
      });
      const applicants = [sampleWealthyhoodApplicant(), sampleWealthyhoodApplicant()];
      const ids = await Promise.all(applicants.map((a) => onboard(stack, a)));
      await waitFor(() => sim.users().length === 2, { what: 'both creates to commit' });
      sim.setFaults({ commitThenTimeout: 0 });
      for (const id of ids) {
        const c = await until(stack, id, 'verified');
        expect(events(c)).toContain('provider_user_adopted');
      }
      for (const a of applicants) {
        expect(sim.users().filter((u) => u.body.email === a.email)).toHaveLength(1);
      }
      expect(sim.users()).toHaveLength(2);
      expect(creates(sim).filter((r) => r.status === 'timeout')).toHaveLength(2);
      // The timed-out attempts are retried jobs: the detector the token test relies on sees them.
      expect(jobFailures(stack).length).toBeGreaterThanOrEqual(2);
      expect(creates(sim).filter((r) => r.status === mode).length).toBeGreaterThanOrEqual(2);
    },
  );

  it('POST /webhooks/wealthyhood is refused (401) and never touches a case', async () => {
    const { stack } = await start();
    const caseId = await onboard(stack, sampleWealthyhoodApplicant({ lastName: 'Sanctioned' }));
    const before = await until(stack, caseId, 'escalated');
    const res = await fetch(`${stack.url}/webhooks/wealthyhood`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: before.providerUserId, kycStatus: 'passed' }),
    });
    expect(res.status).toBe(401);
    const after = (await stack.api(`/v1/cases/${caseId}`)).body;
    expect(after.status).toBe('escalated');
    expect(after.timeline).toHaveLength(before.timeline.length);
  });
});
