import { afterEach, describe, expect, it } from 'vitest';
import { reconcileTickProcessor } from '../../src/workers/reconcile-tick.processor.js';
import { systemClock } from '../../src/lib/clock.js';
import { connectRedis } from '../helpers/redis.js';
import { applicant, startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import { kiraDelivery, post } from '../helpers/webhooks.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function onboard(s: Stack, a: Record<string, unknown>): Promise<string> {
  const res = await s.api('/v1/onboardings', { body: { provider: 'kira', applicant: a } });
  expect(res.status).toBe(202);
  return res.body.caseId as string;
}
const getCase = async (s: Stack, id: string) => (await s.api(`/v1/cases/${id}`)).body;
const drift = async (s: Stack) => {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  return Number(/kyc_reconcile_drift_total\{provider="kira"\} (\d+)/.exec(text)?.[1] ?? 0);
};

describe('reconciliation of lost webhooks', () => {
  it('drives every case to its decision by polling when the simulator drops every webhook (SIM_FAULTS drop=1)', async () => {
    stack = await startStack({ env: { RECONCILE_SCHEDULE: '200ms', RECONCILE_TICK: '100ms', PREFLIGHT: 'off' }, sim: { faults: { drop: 1 } } });
    const s = stack;
    const verified = await onboard(s, applicant());
    const sanctioned = await onboard(s, applicant({ lastName: 'Sanctioned' }));
    const { sourceOfFunds: _x, ...incomplete } = applicant();
    const missing = await onboard(s, incomplete);

    const v = await waitFor(async () => { const c = await getCase(s, verified); return c.status === 'verified' ? c : undefined; }, { timeoutMs: 20_000, what: 'verified by polling' });
    expect(v.timeline.at(-1)).toMatchObject({ source: 'poll', to: 'verified', detail: expect.stringContaining('no webhook delivered') });
    for (const id of [sanctioned, missing]) {
      const c = await waitFor(async () => { const x = await getCase(s, id); return x.status === 'escalated' ? x : undefined; }, { timeoutMs: 20_000, what: 'escalated by polling' });
      expect(c.reasons).toEqual([expect.objectContaining({ code: 'unknown', providerText: expect.stringContaining('lost with the undelivered webhook') })]);
      expect(c.timeline.at(-1).source).toBe('poll');
    }
    expect(s.sim.deliveries().every((d) => d.status === 'dropped')).toBe(true);
    expect(await drift(s)).toBe(3);
  });

  it('a failure webhook that arrives after polling escalated its case without reasons is decided on its reasons', async () => {
    // Kira's GET never carries the rejection reasons: the poll that finds REJECTED first can only
    // escalate. The webhook with the reasons, late, then decides the case as if it had come first.
    stack = await startStack({ env: { RECONCILE_SCHEDULE: '200ms', RECONCILE_TICK: '100ms' }, sim: { faults: { drop: 1 } } });
    const s = stack;
    const id = await onboard(s, applicant({ firstName: 'Sessionexpired' }));
    const blind = await waitFor(async () => { const c = await getCase(s, id); return c.status === 'escalated' ? c : undefined; }, { timeoutMs: 20_000, what: 'escalated by polling' });
    expect(blind.reasons).toEqual([expect.objectContaining({ code: 'unknown' })]);
    expect(blind.attempts).toBe(0);

    s.sim.setFaults({ drop: 0 });
    const late = kiraDelivery(id, blind.providerUserId, 'user.verification.failed', { verification_status: 'rejected', reasons: ['Verification session expired'] });
    expect((await post(`${s.url}/webhooks/kira`, late)).status).toBe(202);
    // Remediated on its own (a re-issued verification, which the simulator passes): no operator.
    const done = await waitFor(async () => { const c = await getCase(s, id); return c.status === 'verified' ? c : undefined; }, { timeoutMs: 20_000, what: 'verified after the re-issue' });
    expect(done.attempts).toBe(1);
    expect(done.escalation).toBeNull();
    expect(done.timeline.map((e: { event: string; from: string | null; to: string }) => `${e.event}:${e.from}>${e.to}`)).toEqual(expect.arrayContaining([
      'poll:poll:awaiting_verification>escalated',
      'webhook:user.verification.failed:escalated>remediating',
      'remediation_submitted:remediating>awaiting_verification',
    ]));
    expect(s.sim.requests().filter((r) => r.method === 'POST' && /\/verifications\/?$/.test(r.path))).toHaveLength(1);
  });

  it('polls only the cases that are due: 10,000 waiting cases, 10 due, one tick polls 10', async () => {
    stack = await startStack({ env: { RECONCILE_SCHEDULE: '1h', RECONCILE_TICK: '1h' }, sim: { autoVerify: false, faults: { drop: 1 } } });
    const s = stack;
    const store = s.svc.store;
    const due = await Promise.all(Array.from({ length: 10 }, () => onboard(s, applicant())));
    for (const id of due) await waitFor(async () => (await getCase(s, id)).status === 'awaiting_verification');

    // 9,990 more waiting cases whose next poll is an hour away.
    const now = systemClock.now();
    for (let i = 0; i < 9_990; i += 1) {
      const { case: c } = await store.create('kira', { externalId: `bulk-${i}` }, now);
      await store.apply(c.id, { kind: 'user_created', providerUserId: `bulk-user-${i}`, adopted: false }, { now });
    }
    const redis = connectRedis(s.config.REDIS_URL);
    const zkey = store.keys.reconcile();
    expect(await redis.zcard(zkey)).toBe(10_000);
    for (const id of due) await redis.zadd(zkey, now.getTime() - 1, id);
    redis.disconnect();

    const getsBefore = s.sim.requests().filter((r) => r.method === 'GET' && r.path.startsWith('/v1/users/')).length;
    const tick = reconcileTickProcessor({ store, producer: s.svc.producer, clock: systemClock });
    expect(await tick()).toBe('polls:10');
    const gets = () => s.sim.requests().filter((r) => r.method === 'GET' && r.path.startsWith('/v1/users/')).length - getsBefore;
    await waitFor(() => gets() === 10, { what: '10 polls to reach the provider' });
    expect(await tick()).toBe('polls:0');
    const polled = new Set(s.sim.requests().filter((r) => r.method === 'GET').map((r) => r.path.split('/').at(-1)));
    const dueUsers = await Promise.all(due.map(async (id) => (await getCase(s, id)).providerUserId as string));
    expect(dueUsers.every((u) => polled.has(u))).toBe(true);
    expect(gets()).toBe(10);
  }, 120_000);
});
