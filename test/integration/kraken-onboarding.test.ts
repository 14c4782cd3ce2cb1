/**
 * Kraken end to end: the service (api + workers, real Redis) against the Kraken simulator (real
 * HTTP), webhooks delivered by the simulator to POST /webhooks/kraken, rejections found by polling.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { offsetClock, systemClock, type Clock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import { signKrakenWebhook } from '../../src/providers/kraken/index.js';
import { startService, type Service } from '../../src/service.js';
import {
  startKrakenSimulator,
  type KrakenSimulator,
  type KrakenSimulatorOptions,
} from '../../src/simulators/kraken/index.js';
import { nonceKeys } from '../../src/store/nonce.js';
import { connectRedis, dropPrefix } from '../helpers/redis.js';
import { applicant as baseApplicant, testConfig, TOKEN } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const API_SECRET = Buffer.from('kraken-api-secret-for-integration-tests').toString('base64');
/** Newest first: deliveries are signed with the first; the second is the one being rotated out. */
const HOOK_SECRETS = [
  Buffer.from('kraken-hook-secret-new').toString('base64'),
  Buffer.from('kraken-hook-secret-old').toString('base64'),
];
const HOUR = 3_600_000;

interface KrakenStack {
  svc: Service;
  sim: KrakenSimulator;
  url: string;
  api(
    path: string,
    init?: { method?: string; body?: unknown },
  ): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** The service with only Kraken configured, pointed at its own simulator; both on `clock`. */
async function krakenStack(
  opts: { env?: Record<string, string>; sim?: Partial<KrakenSimulatorOptions>; clock?: Clock } = {},
): Promise<KrakenStack> {
  const clock = opts.clock ?? systemClock;
  const apiKey = `kraken-test-${randomUUID()}`;
  const sim = await startKrakenSimulator({
    apiKey,
    apiSecret: API_SECRET,
    webhookSecrets: [HOOK_SECRETS[0]!],
    decisionDelayMs: 150,
    clock,
    ...opts.sim,
  });
  const config = testConfig({
    KRAKEN_API_KEY: apiKey,
    KRAKEN_API_SECRET: API_SECRET,
    KRAKEN_WEBHOOK_SECRETS: HOOK_SECRETS.join(','),
    ...opts.env,
  });
  const sink = new Writable({
    write(_c: Buffer, _e, cb) {
      cb();
    },
  });
  const svc = await startService({
    config,
    role: 'all',
    clock,
    log: createLogger({ level: 'warn', destination: sink }),
    providerUrls: { kraken: sim.url },
  });
  const url = svc.url!;
  sim.setWebhookUrl(`${url}/webhooks/kraken`);
  const stack: KrakenStack = {
    svc,
    sim,
    url,
    async api(path, init = {}) {
      const res = await fetch(`${url}${path}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async close() {
      await svc.close();
      await sim.close();
      await dropPrefix(config.QUEUE_PREFIX, config.REDIS_URL);
      const r = connectRedis(config.REDIS_URL);
      await r.del(...Object.values(nonceKeys(apiKey)));
      r.disconnect();
    },
  };
  cleanups.push(() => stack.close());
  return stack;
}

/** A complete applicant for Kraken: the shared one plus Kraken's occupation enum and ToS version. */
const applicant = (overrides: Record<string, unknown> = {}) =>
  baseApplicant({ occupation: 'computers_and_it', tosVersionAccepted: 3, ...overrides });

async function onboard(s: KrakenStack, a: Record<string, unknown>): Promise<string> {
  const res = await s.api('/v1/onboardings', { body: { provider: 'kraken', applicant: a } });
  expect(res.status).toBe(202);
  return res.body.caseId as string;
}

const getCase = async (s: KrakenStack, id: string) => (await s.api(`/v1/cases/${id}`)).body;
const until = (s: KrakenStack, id: string, status: string, timeoutMs = 20_000) =>
  waitFor(
    async () => {
      const c = await getCase(s, id);
      return c.status === status ? c : undefined;
    },
    { timeoutMs, what: `case to be ${status}` },
  );
const refused = (s: KrakenStack) => s.sim.requests().filter((r) => r.status === 401);

describe('Kraken onboarding end to end', () => {
  it('verifies a complete applicant via user.verified; the IIBAN (with spaces) is the provider user id', async () => {
    const s = await krakenStack();
    const a = applicant();
    const caseId = await onboard(s, a);
    const c = await until(s, caseId, 'verified');
    expect(c.providerUserId).toMatch(/^AA\d{2}( [A-Z0-9]{4}){3}$/);
    expect(c.providerStatus).toBe('verified');
    expect(c.timeline.map((e: { event: string }) => e.event)).toContain('provider_user_created');
    expect(c.timeline.at(-1)).toMatchObject({
      source: 'webhook',
      event: 'webhook:user.verified',
      to: 'verified',
    });
    expect(s.sim.users().filter((u) => u.externalId === a.externalId)).toHaveLength(1);
    expect(s.sim.deliveries()).toEqual([
      expect.objectContaining({ event: 'user.verified', status: 202 }),
    ]);
    expect(refused(s)).toEqual([]);
  });

  it('escalates Sanctioned with the reasons read from required_actions (no webhook: found by polling)', async () => {
    const s = await krakenStack({ env: { RECONCILE_SCHEDULE: '200ms', RECONCILE_TICK: '100ms' } });
    const caseId = await onboard(s, applicant({ lastName: 'Sanctioned' }));
    const c = await until(s, caseId, 'escalated');
    expect(c.reasons).toEqual([
      { code: 'sanctions_or_pep', providerText: 'sanctions_screening_match' },
    ]);
    expect(c.escalation.proposedAction).toMatch(/manual review/);
    expect(c.providerStatus).toBe('action_required');
    expect(c.timeline.at(-1)).toMatchObject({ source: 'poll', to: 'escalated' });
    // The case view does not show deadlines; the stored case has it.
    expect(Date.parse((await s.svc.store.get(caseId))!.deadline!)).toBeGreaterThan(
      Date.now() + 13 * 24 * HOUR,
    );
    expect(s.sim.deliveries()).toEqual([]);
  });

  it('escalates a case whose required action deadline approaches, before the deadline passes (injected clock)', async () => {
    let offsetMs = 0;
    const clock = offsetClock(() => offsetMs);
    const s = await krakenStack({
      clock,
      env: { RECONCILE_SCHEDULE: '200ms', RECONCILE_TICK: '100ms', DEADLINE_MARGIN: '24h' },
      sim: { autoVerify: false, onboardingDeadlineMs: 48 * HOUR },
    });
    const caseId = await onboard(s, applicant());
    const deadline =
      s.sim.users()[0]?.requiredActions[0]?.deadline ??
      (await waitFor(() => s.sim.users()[0]?.requiredActions[0]?.deadline));
    // Polled with 48 h to go: nothing happens (the deadline is recorded on the case).
    const gets = () => s.sim.requests().filter((r) => r.method === 'GET').length;
    await waitFor(() => gets() >= 2, { what: 'two polls' });
    const early = await getCase(s, caseId);
    expect(early.status).toBe('awaiting_verification');
    expect((await s.svc.store.get(caseId))!.deadline).toBe(deadline);
    // 25 h later: 23 h left, inside the 24 h margin → escalated, with time to spare.
    offsetMs = 25 * HOUR;
    const c = await until(s, caseId, 'escalated');
    expect(c.timeline.at(-1)).toMatchObject({ event: 'deadline_near', to: 'escalated' });
    expect(c.escalation.proposedAction).toContain(deadline);
    expect(Date.parse(c.escalation.since)).toBeLessThan(Date.parse(deadline) - 22 * HOUR);
    expect(clock.now().getTime()).toBeLessThan(Date.parse(deadline));
  });

  it('with a daily poll step, a deadline 24 h + 1 h away is still escalated 24 h before it (the poll is pulled forward)', async () => {
    let offsetMs = 0;
    const clock = offsetClock(() => offsetMs);
    const s = await krakenStack({
      clock,
      env: { RECONCILE_SCHEDULE: '200ms,1d', RECONCILE_TICK: '100ms', DEADLINE_MARGIN: '24h' },
      sim: { autoVerify: false, onboardingDeadlineMs: 25 * HOUR },
    });
    const caseId = await onboard(s, applicant());
    // The first poll (200 ms) learns the deadline; after that the schedule says "in a day".
    const stored = await waitFor(
      async () => {
        const c = await s.svc.store.get(caseId);
        return c?.deadline ? c : undefined;
      },
      { what: 'the deadline read by polling' },
    );
    const deadline = Date.parse(stored.deadline!);
    // Recording the deadline changes no status: the case is past the 200 ms step, so its next poll
    // is the daily one, pulled forward to deadline − 24 h.
    const redis = connectRedis();
    const score = await waitFor(async () => Number(await redis.zscore(s.svc.store.keys.reconcile(), caseId)) === deadline - 24 * HOUR, { what: 'next poll at deadline − 24 h' }).finally(() => redis.disconnect());
    expect(score).toBe(true);
    // One hour later (deadline − 24 h): polled and escalated, with 24 h to spare. Without the cap
    // the next poll would be a day out, 1 h before the deadline.
    offsetMs = HOUR + 60_000;
    const c = await until(s, caseId, 'escalated');
    expect(c.timeline.at(-1)).toMatchObject({ event: 'deadline_near', to: 'escalated' });
    expect(Date.parse(c.escalation.since)).toBeGreaterThanOrEqual(deadline - 24 * HOUR);
    expect(deadline - Date.parse(c.escalation.since)).toBeGreaterThan(23 * HOUR);
  });

  it('a missing tax id: escalated asking for taxIds; PATCH remediates with a PATCH of tax_ids only → verified', async () => {
    const s = await krakenStack({ env: { RECONCILE_SCHEDULE: '200ms', RECONCILE_TICK: '100ms' } });
    const { taxIds: _t, ...incomplete } = applicant();
    const caseId = await onboard(s, incomplete);
    const c = await until(s, caseId, 'escalated');
    expect(c.reasons).toEqual([
      { code: 'missing_data', field: 'taxIds', providerText: 'missing_field: tax_ids' },
    ]);
    expect(c.escalation.needsFields).toEqual(['taxIds']);
    const patched = await s.api(`/v1/cases/${caseId}/applicant`, {
      method: 'PATCH',
      body: { taxIds: [{ id: '12345678901', country: 'DE' }] },
    });
    expect(patched.status).toBe(202);
    const done = await until(s, caseId, 'verified');
    expect(done.attempts).toBe(1);
    expect(
      done.timeline.some(
        (e: { event: string; detail?: string }) =>
          e.event === 'remediation_submitted' && e.detail === 'PATCH tax_ids',
      ),
    ).toBe(true);
    const patches = s.sim.requests().filter((r) => r.method === 'PATCH');
    expect(patches).toEqual([expect.objectContaining({ status: 200, bodyKeys: ['tax_ids'] })]);
    expect(s.sim.users()).toHaveLength(1);
  });

  it('Fraud: user.disabled makes the case fetch the user at once, and the real reason (suspected fraud) rejects it', async () => {
    // An hourly schedule: only the poll the webhook asks for can run within the test.
    const s = await krakenStack({ env: { RECONCILE_SCHEDULE: '1h', RECONCILE_TICK: '100ms' } });
    const caseId = await onboard(s, applicant({ lastName: 'Fraud' }));
    const c = await until(s, caseId, 'rejected');
    expect(c.reasons).toEqual([
      { code: 'fraud_suspected', providerText: 'suspected_document_fraud' },
    ]);
    expect(c.providerStatus).toBe('disabled');
    const tail = c.timeline.slice(-2);
    expect(tail[0]).toMatchObject({
      source: 'webhook',
      event: 'webhook:user.disabled',
      to: 'awaiting_verification',
    });
    expect(tail[0].detail).toMatch(/reasons are read from the provider now/);
    expect(tail[1]).toMatchObject({
      source: 'poll',
      to: 'rejected',
      detail: expect.stringContaining('rejected by rule'),
    });
    expect(c.timeline.some((e: { to: string }) => e.to === 'escalated')).toBe(false);
    expect(s.sim.requests().filter((r) => r.method === 'GET').length).toBeGreaterThanOrEqual(1);
  });

  it('a disabled user whose GET gives no reasons is escalated as unknown with a note saying so', async () => {
    const s = await krakenStack({
      env: { RECONCILE_SCHEDULE: '1h', RECONCILE_TICK: '100ms' },
      sim: { autoVerify: false },
    });
    const caseId = await onboard(s, applicant());
    const iiban = (await until(s, caseId, 'awaiting_verification')).providerUserId as string;
    s.sim.apply(iiban, { kind: 'disable' });
    const c = await until(s, caseId, 'escalated');
    expect(c.reasons).toEqual([
      {
        code: 'unknown',
        providerText: 'user disabled by Kraken; GET /b2b/users gives no reasons: ask Kraken why',
      },
    ]);
    expect(c.timeline.at(-1)).toMatchObject({ source: 'poll', to: 'escalated' });
  });

  it('Sessionexpired: the session-expired rejection is remediated by a re-submitted verification → verified, attempts 1', async () => {
    const s = await krakenStack({ env: { RECONCILE_SCHEDULE: '200ms', RECONCILE_TICK: '100ms' } });
    const caseId = await onboard(s, applicant({ firstName: 'Sessionexpired' }));
    const c = await until(s, caseId, 'verified');
    expect(c.attempts).toBe(1);
    const events = c.timeline.map((e: { event: string; to: string }) => `${e.event}→${e.to}`);
    expect(events).toEqual(
      expect.arrayContaining([
        'poll:poll→remediating',
        'remediation_submitted→awaiting_verification',
        'webhook:user.verified→verified',
      ]),
    );
    expect(
      c.timeline.find((e: { event: string }) => e.event === 'remediation_submitted').detail,
    ).toBe('no profile field differs from what Kraken holds; verification re-submitted');
    expect(c.reasons).toEqual([
      { code: 'session_expired', providerText: 'verification_session_expired' },
    ]);
    expect(s.sim.requests().filter((r) => r.method === 'PATCH')).toEqual([]);
    expect(s.sim.users()[0]!.verifications).toHaveLength(2);
  });

  it('an identity document number starting EXPIRED → escalated, document_expired', async () => {
    const s = await krakenStack({ env: { RECONCILE_SCHEDULE: '200ms', RECONCILE_TICK: '100ms' } });
    const caseId = await onboard(
      s,
      applicant({
        identityDocument: {
          type: 'passport',
          number: 'EXPIRED0001',
          country: 'DE',
          expiresOn: '2020-01-01',
        },
      }),
    );
    const c = await until(s, caseId, 'escalated');
    expect(c.reasons).toEqual([
      { code: 'document_expired', providerText: 'identity_document_expired' },
    ]);
    expect(c.escalation.proposedAction).toMatch(/manual review/);
    expect(c.attempts).toBe(0);
  });

  it('an operator-corrected name is PATCHed (full_name only) with the verification on resolve retry', async () => {
    const s = await krakenStack({
      env: { RECONCILE_SCHEDULE: '200ms', RECONCILE_TICK: '100ms' },
      sim: { autoVerify: false },
    });
    const caseId = await onboard(s, applicant({ lastName: 'Mustermnan' }));
    const iiban = (await until(s, caseId, 'awaiting_verification')).providerUserId as string;
    s.sim.apply(iiban, { kind: 'require', reasons: ['name_mismatch'] });
    expect((await until(s, caseId, 'escalated')).reasons).toEqual([
      { code: 'identity_mismatch', providerText: 'name_mismatch' },
    ]);
    expect(
      (
        await s.api(`/v1/cases/${caseId}/applicant`, {
          method: 'PATCH',
          body: { lastName: 'Mustermann' },
        })
      ).status,
    ).toBe(202);
    expect(
      (
        await s.api(`/v1/cases/${caseId}/resolve`, {
          body: { action: 'retry', note: 'name fixed' },
        })
      ).status,
    ).toBe(202);
    const c = await until(s, caseId, 'awaiting_verification');
    expect(c.timeline.at(-1)).toMatchObject({
      event: 'remediation_submitted',
      detail: 'PATCH full_name; verification re-submitted',
    });
    expect(
      s.sim
        .requests()
        .filter((r) => r.method === 'PATCH')
        .map((r) => r.bodyKeys),
    ).toEqual([['full_name']]);
  });

  it('a create that commits and then times out yields one IIBAN per case (duplicate answer with IIBAN → adopted)', async () => {
    const s = await krakenStack({
      env: { PROVIDER_TIMEOUT: '500ms' },
      sim: { faults: { commitThenTimeout: 1 }, duplicateExternalId: 'conflict_with_iiban' },
    });
    const a = applicant();
    const caseId = await onboard(s, a);
    await waitFor(() => s.sim.users().length === 1, { what: 'the first create to commit' });
    s.sim.setFaults({ commitThenTimeout: 0 });
    const c = await until(s, caseId, 'verified');
    const creates = s.sim.requests().filter((r) => r.method === 'POST' && r.path === '/b2b/users');
    expect(creates.map((r) => r.status)).toEqual(['timeout', 409]);
    expect(s.sim.users()).toHaveLength(1);
    expect(c.providerUserId).toBe(s.sim.users()[0]!.iiban);
    expect(c.timeline.map((e: { event: string }) => e.event)).toContain('provider_user_adopted');
  });

  it('a duplicate answer without the IIBAN escalates with a clear reason and never creates again', async () => {
    const s = await krakenStack({
      env: { PROVIDER_TIMEOUT: '500ms' },
      sim: { faults: { commitThenTimeout: 1 }, duplicateExternalId: 'conflict_without_iiban' },
    });
    const caseId = await onboard(s, applicant());
    await waitFor(() => s.sim.users().length === 1, { what: 'the first create to commit' });
    s.sim.setFaults({ commitThenTimeout: 0 });
    const c = await until(s, caseId, 'escalated');
    expect(c.reasons).toEqual([
      expect.objectContaining({
        code: 'provider_error',
        providerText: expect.stringMatching(/already exists.*not creating a second user/),
      }),
    ]);
    expect(c.providerErrors).toEqual([expect.objectContaining({ field: 'externalId' })]);
    expect(c.providerUserId).toBeNull();
    const creates = () =>
      s.sim.requests().filter((r) => r.method === 'POST' && r.path === '/b2b/users');
    expect(creates().map((r) => r.status)).toEqual(['timeout', 409]);
    expect(s.sim.users()).toHaveLength(1);
  });
});

describe('POST /webhooks/kraken', () => {
  /** A stack whose simulator decides nothing by itself: the tests deliver every webhook. */
  async function awaiting() {
    const s = await krakenStack({ sim: { autoVerify: false } });
    const caseId = await onboard(s, applicant());
    const c = await until(s, caseId, 'awaiting_verification');
    return { s, caseId, iiban: c.providerUserId as string };
  }

  function envelope(
    type: string,
    iiban?: string,
    id = `EVT${randomUUID().slice(0, 12).toUpperCase()}`,
  ): string {
    return JSON.stringify({
      event_type: type,
      iiban,
      id,
      timestamp: new Date().toISOString().replace('Z', '000000Z'),
    });
  }

  async function deliver(
    s: KrakenStack,
    body: string,
    opts: { t?: number; secret?: string; header?: string } = {},
  ) {
    const t = opts.t ?? Math.floor(Date.now() / 1000);
    const header =
      opts.header ?? `t=${t},v1=${signKrakenWebhook(opts.secret ?? HOOK_SECRETS[0]!, t, body)}`;
    const res = await fetch(`${s.url}/webhooks/kraken`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-signature': header,
        'x-webhook-event': 'user.verified',
        'x-webhook-id': 'WHTEST',
      },
      body,
    });
    return { status: res.status, body: await res.text() };
  }

  it('refuses t more than 300 s away (±301 s → 401) and accepts ±299 s', async () => {
    const { s, caseId, iiban } = await awaiting();
    // Whole seconds, rounded away from the tolerance edge, read just before each delivery.
    const past = (d: number) => Math.floor(Date.now() / 1000) - d;
    const ahead = (d: number) => Math.ceil(Date.now() / 1000) + d;
    const body = envelope('user.verified', iiban);
    expect((await deliver(s, body, { t: past(301) })).status).toBe(401);
    expect((await deliver(s, body, { t: ahead(301) })).status).toBe(401);
    expect((await getCase(s, caseId)).status).toBe('awaiting_verification');
    expect((await deliver(s, body, { t: ahead(299) - 1 })).status).toBe(202);
    expect((await deliver(s, envelope('user.verified', iiban), { t: past(299) + 1 })).status).toBe(202);
    await until(s, caseId, 'verified');
  });

  it('keys the HMAC with the base64-decoded secret; the rotated-out secret and several v1 values work', async () => {
    const { s, caseId, iiban } = await awaiting();
    const t = Math.floor(Date.now() / 1000);
    const body = envelope('user.verified', iiban);
    // Signed with the secret *string* as key (not decoded): refused.
    const { createHmac } = await import('node:crypto');
    const undecoded = createHmac('sha256', HOOK_SECRETS[0]!).update(`${t}.${body}`).digest('hex');
    expect((await deliver(s, body, { header: `t=${t},v1=${undecoded}` })).status).toBe(401);
    expect((await deliver(s, body, { header: `t=${t}` })).status).toBe(401);
    expect((await fetch(`${s.url}/webhooks/kraken`, { method: 'POST', body })).status).toBe(401);
    // The old secret, listed second, with a wrong v1 before the right one: accepted.
    const old = signKrakenWebhook(HOOK_SECRETS[1]!, t, body);
    expect((await deliver(s, body, { header: `t=${t},v1=${undecoded},v1=${old}` })).status).toBe(
      202,
    );
    await until(s, caseId, 'verified');
  });

  it('applies the same webhook delivered five times exactly once', async () => {
    const { s, caseId, iiban } = await awaiting();
    const body = envelope('user.verified', iiban);
    const answers = await Promise.all(Array.from({ length: 5 }, () => deliver(s, body)));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    expect(answers.filter((a) => a.body.includes('"duplicate":false'))).toHaveLength(1);
    const c = await until(s, caseId, 'verified');
    // A redelivery after the decision (Kraken retries) is still one transition.
    expect((await deliver(s, body)).status).toBe(202);
    await waitFor(
      async () =>
        (
          await s.svc.producer
            .queues()
            .find((q) => q.name === 'kyc-events')!
            .getJobCounts('waiting', 'active', 'delayed')
        ).waiting === 0,
    );
    const after = await getCase(s, caseId);
    expect(after.timeline.filter((e: { source: string }) => e.source === 'webhook')).toHaveLength(
      1,
    );
    expect(after.version).toBe(c.version);
  });

  it('answers webhook.test and other event types 202 and changes nothing', async () => {
    const { s, caseId, iiban } = await awaiting();
    const before = await getCase(s, caseId);
    const test = await deliver(
      s,
      JSON.stringify({
        event_type: 'webhook.test',
        message: 'This is a test webhook event to verify your endpoint configuration.',
      }),
    );
    expect(test).toEqual({
      status: 202,
      body: expect.stringContaining('"ignored":"webhook.test"'),
    });
    expect((await deliver(s, envelope('quote.executed', iiban))).status).toBe(202);
    // The simulator's own test delivery too.
    s.sim.setFaults({ drop: 0 });
    s.sim.sendTestWebhook();
    await s.sim.idle();
    expect(s.sim.deliveries()).toEqual([
      expect.objectContaining({ event: 'webhook.test', status: 202 }),
    ]);
    expect((await getCase(s, caseId)).version).toBe(before.version);
  });
});
