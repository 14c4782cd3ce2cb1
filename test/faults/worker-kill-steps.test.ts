/**
 * kill -9 of the worker process at each step of create → webhook → decision → remediation, then a
 * restart: every case completes, with one Kira user per case and no step applied twice.
 * The api runs as its own process and stays up (it receives the webhooks); only workers die.
 */
import { describe, expect, it } from 'vitest';
import { startKiraSimulator, type KiraSimulator, type KiraSimulatorOptions } from '../../src/simulators/kira/index.js';
import { caseVia, onboardVia } from '../helpers/client.js';
import { processHarness, processEnv, spawnService, type ServiceProcess } from '../helpers/processes.js';
import { dropPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { applicant, SECRETS } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const { procs, cleanups } = processHarness();

interface Rig { sim: KiraSimulator; api: ServiceProcess; worker(): Promise<ServiceProcess> }

async function rig(extra: Record<string, string> = {}, simOpts: Partial<KiraSimulatorOptions> = {}): Promise<Rig> {
  const prefix = uniquePrefix();
  const sim = await startKiraSimulator({ apiKey: 'k', clientId: 'c', password: 'p', webhookSecrets: [SECRETS[0]!], verifyDelayMs: 200, autoRejectDelayMs: 200, ...simOpts });
  cleanups.push(async () => { await sim.close(); await dropPrefix(prefix); });
  // A killed worker's jobs come back after one lock period; lost webhooks are found by polling.
  const env = processEnv({ redisUrl: REDIS_URL, prefix, kiraUrl: sim.url, extra: { JOB_LOCK_DURATION: '2s', RECONCILE_SCHEDULE: '3s', RECONCILE_TICK: '1s', ...extra } });
  const api = await spawnService('api', env);
  procs.push(api);
  sim.setWebhookUrl(`${api.url}/webhooks/kira`);
  return {
    sim, api,
    async worker() {
      const w = await spawnService('worker', env);
      procs.push(w);
      return w;
    },
  };
}

const pendingAt = (sim: KiraSimulator, method: string, path: RegExp) =>
  sim.requests().some((r) => r.method === method && path.test(r.path) && r.status === 'pending');

async function settle(r: Rig, ids: string[], want: string): Promise<any[]> {
  const out: any[] = [];
  for (const id of ids) {
    out.push(await waitFor(async () => {
      const c = await caseVia(r.api.url, id);
      return c.status === want ? c : undefined;
    }, { timeoutMs: 60_000, what: `case ${id} ${want}` }).catch(async (err: unknown) => {
      const c = await caseVia(r.api.url, id);
      throw new Error(`${String(err)}\n${JSON.stringify({ status: c.status, attempts: c.attempts, timeline: c.timeline.map((e: any) => [e.source, e.event, e.from, e.to, e.detail]) }, null, 1)}`);
    }));
  }
  return out;
}

/** Verified cases among `ids`, read straight from the store's status index (one call). */
async function verifiedCount(r: Rig, ids: string[]): Promise<number> {
  const res = await fetch(`${r.api.url}/v1/cases?status=verified&limit=200`, { headers: { authorization: 'Bearer test-token' } });
  const body = (await res.json()) as { items: { caseId: string }[] };
  const want = new Set(ids);
  return body.items.filter((c) => want.has(c.caseId)).length;
}

function oneUserEach(sim: KiraSimulator, externalIds: string[]): void {
  for (const ext of externalIds) expect(sim.users().filter((u) => u.externalId === ext), ext).toHaveLength(1);
}

describe('kill -9 of a worker at each step', () => {
  it('step create: killed while the create calls are in flight', async () => {
    const r = await rig();
    r.sim.setFaults({ latency: 1_500 });
    let w = await r.worker();
    const people = Array.from({ length: 4 }, () => applicant());
    const ids = await Promise.all(people.map((a) => onboardVia(r.api.url, a)));
    await waitFor(() => pendingAt(r.sim, 'POST', /^\/v1\/users\/?$/), { what: 'a create in flight' });
    await w.kill();
    r.sim.setFaults({ latency: 0 });
    w = await r.worker();
    const cases = await settle(r, ids, 'verified');
    oneUserEach(r.sim, people.map((a) => a.externalId as string));
    for (const c of cases) expect(c.timeline.filter((e: any) => /^provider_user_(created|adopted)$/.test(e.event))).toHaveLength(1);
  });

  it('step create: killed after Kira committed the user but before the answer arrived', async () => {
    const r = await rig();
    r.sim.setFaults({ commitThenTimeout: 1 });
    let w = await r.worker();
    const people = Array.from({ length: 4 }, () => applicant());
    const ids = await Promise.all(people.map((a) => onboardVia(r.api.url, a)));
    await waitFor(() => r.sim.users().length === people.length, { what: 'every create committed at Kira' });
    await w.kill();
    r.sim.setFaults({ commitThenTimeout: 0 });
    w = await r.worker();
    await settle(r, ids, 'verified');
    oneUserEach(r.sim, people.map((a) => a.externalId as string));
    const keys = new Set(r.sim.requests().filter((q) => q.method === 'POST' && q.path === '/v1/users').map((q) => q.idempotencyKey));
    expect(keys.size).toBe(people.length); // the retries reused each case's key
  });

  it('step webhook → decision: killed while the queued events are being applied', async () => {
    const n = 100;
    // One job at a time, so that the kill lands inside the batch of events; no polling, so the
    // decisions can only come from the webhooks.
    const r = await rig({ WORKER_CONCURRENCY: '1', RECONCILE_SCHEDULE: '1h' }, { autoVerify: false });
    let w = await r.worker();
    const people = Array.from({ length: n }, () => applicant());
    const ids: string[] = [];
    for (const a of people) ids.push(await onboardVia(r.api.url, a));
    await settle(r, ids, 'awaiting_verification');
    await w.kill();
    // The verdicts arrive while no worker runs: the api queues them.
    for (const u of r.sim.users()) r.sim.flip(u.userId, 'VERIFIED');
    await r.sim.idle();
    // status_changed + verification.accepted per user, every one acknowledged
    expect(r.sim.deliveries().filter((d) => d.status === 202)).toHaveLength(2 * n);
    w = await r.worker();
    let verifiedAtKill = 0;
    await waitFor(async () => {
      verifiedAtKill = await verifiedCount(r, ids);
      return verifiedAtKill > 0;
    }, { intervalMs: 5, what: 'the first event applied' });
    await w.kill();
    expect(verifiedAtKill).toBeLessThan(n); // killed inside the batch
    w = await r.worker();
    await settle(r, ids, 'verified');
    // Both webhooks of each pair applied once: one decision, the second recorded as late.
    for (const id of ids) {
      const c = await waitFor(async () => {
        const got = await caseVia(r.api.url, id);
        return got.timeline.filter((e: any) => e.source === 'webhook').length >= 2 ? got : undefined;
      }, { timeoutMs: 30_000, what: `both webhooks of case ${id} applied` });
      expect(c.timeline.filter((e: any) => e.source === 'webhook')).toHaveLength(2);
      expect(c.timeline.filter((e: any) => e.to === 'verified' && e.from !== 'verified')).toHaveLength(1);
    }
    oneUserEach(r.sim, people.map((a) => a.externalId as string));
  });

  it('step remediation: killed while the re-issued verification is in flight', async () => {
    const r = await rig();
    let w = await r.worker();
    const people = Array.from({ length: 4 }, () => applicant({ firstName: 'Sessionexpired' }));
    const ids = await Promise.all(people.map((a) => onboardVia(r.api.url, a)));
    await waitFor(() => r.sim.users().length === people.length, { what: 'users created' });
    r.sim.setFaults({ latency: 1_500 });
    await waitFor(() => pendingAt(r.sim, 'POST', /\/verifications\/?$/), { timeoutMs: 30_000, what: 'a re-issue in flight' });
    await w.kill();
    r.sim.setFaults({ latency: 0 });
    w = await r.worker();
    const cases = await settle(r, ids, 'verified');
    for (const c of cases) expect(c.attempts).toBe(1);
    oneUserEach(r.sim, people.map((a) => a.externalId as string));
    // create + exactly one re-issue per user, however often the remediation job ran
    for (const u of r.sim.users()) expect(u.verificationAttempts).toBe(2);
  });

  it('step remediation: killed while the corrected data is being PUT', async () => {
    const r = await rig({ PREFLIGHT: 'off' });
    let w = await r.worker();
    const people = Array.from({ length: 3 }, () => { const a = applicant(); delete a.sourceOfFunds; return a; });
    const ids = await Promise.all(people.map((a) => onboardVia(r.api.url, a)));
    await settle(r, ids, 'escalated');
    r.sim.setFaults({ latency: 1_500 });
    for (const id of ids) {
      const res = await fetch(`${r.api.url}/v1/cases/${id}/applicant`, { method: 'PATCH', headers: { authorization: 'Bearer test-token', 'content-type': 'application/json' }, body: JSON.stringify({ sourceOfFunds: 'salary' }) });
      expect(res.status).toBe(202);
    }
    await waitFor(() => pendingAt(r.sim, 'PUT', /^\/v1\/users\/[^/]+\/?$/), { timeoutMs: 30_000, what: 'a PUT in flight' });
    await w.kill();
    r.sim.setFaults({ latency: 0 });
    w = await r.worker();
    const cases = await settle(r, ids, 'verified');
    for (const c of cases) expect(c.attempts, JSON.stringify(c.timeline.map((e: any) => [e.source, e.event, e.from, e.to, e.detail]))).toBe(1);
    oneUserEach(r.sim, people.map((a) => a.externalId as string));
    for (const u of r.sim.users()) {
      expect(u.fields.source_of_funds).toBeDefined();
      expect(u.verificationAttempts).toBe(2);
    }
  });
});
