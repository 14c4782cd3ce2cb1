import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { WEBHOOK_OUTCOMES } from '../../src/metrics/metrics.js';
import { cachedRead } from '../../src/metrics/scrape-sources.js';
import { applicant, startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import { startOwnRedis } from '../helpers/redis.js';
import { requireTools } from './observability-tools.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** Every metric the issue lists, with its exact label names. */
const ISSUE_METRICS: Record<string, { type: string; labels: string[] }> = {
  kyc_webhooks_received_total: { type: 'counter', labels: ['provider', 'outcome'] },
  kyc_webhook_ack_seconds: { type: 'histogram', labels: ['provider'] },
  kyc_provider_requests_total: { type: 'counter', labels: ['provider', 'operation', 'code_class'] },
  kyc_provider_request_seconds: { type: 'histogram', labels: ['provider', 'operation'] },
  kyc_case_transitions_total: { type: 'counter', labels: ['provider', 'from', 'to'] },
  kyc_decisions_total: { type: 'counter', labels: ['provider', 'action', 'reason_code'] },
  kyc_time_to_decision_seconds: { type: 'histogram', labels: ['provider', 'outcome'] },
  kyc_queue_jobs: { type: 'gauge', labels: ['queue', 'state'] },
  kyc_job_duration_seconds: { type: 'histogram', labels: ['queue', 'outcome'] },
  kyc_job_retries_total: { type: 'counter', labels: ['queue'] },
  kyc_escalations_open: { type: 'gauge', labels: ['provider'] },
  kyc_escalations_overdue: { type: 'gauge', labels: ['provider'] },
  kyc_reconcile_drift_total: { type: 'counter', labels: ['provider'] },
  kyc_notifications_total: { type: 'counter', labels: ['outcome'] },
};

async function onboard(s: Stack, a: Record<string, unknown>): Promise<string> {
  const res = await s.api('/v1/onboardings', { body: { provider: 'kira', applicant: a } });
  expect(res.status).toBe(202);
  return res.body.caseId as string;
}

async function until(s: Stack, caseId: string, status: string): Promise<void> {
  await waitFor(async () => (await s.api(`/v1/cases/${caseId}`)).body.status === status, { timeoutMs: 20_000, what: `case ${caseId} ${status}` });
}

const scrape = async (s: Stack) => (await fetch(`${s.url}/metrics`)).text();

/** Samples of `name` as {labels, value}. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

describe('GET /metrics', () => {
  it('exposes every metric of the issue with its labels, on its own registry with process metrics, and passes promtool check metrics', async () => {
    stack = await startStack({ env: { ESCALATION_SLA: '1s' } });
    const people = [applicant(), applicant({ lastName: 'Sanctioned' }), applicant({ lastName: 'Fraud' })];
    const [verified, escalated, rejected] = await Promise.all(people.map((a) => onboard(stack!, a)));
    await until(stack, verified!, 'verified');
    await until(stack, escalated!, 'escalated');
    await until(stack, rejected!, 'rejected');

    const json = await stack.svc.metrics.registry.getMetricsAsJSON();
    for (const [name, spec] of Object.entries(ISSUE_METRICS)) {
      const m = stack.svc.metrics.registry.getSingleMetric(name) as unknown as { labelNames: string[] } | undefined;
      expect(m, name).toBeDefined();
      expect([...m!.labelNames].sort(), name).toEqual([...spec.labels].sort());
      expect(json.find((j) => j.name === name)?.type, name).toBe(spec.type);
    }
    // Only our registry: default process metrics are there, nothing leaks from the global one.
    expect(json.some((j) => j.name === 'process_cpu_user_seconds_total')).toBe(true);
    expect(json.some((j) => j.name === 'nodejs_eventloop_lag_p99_seconds')).toBe(true);
    for (const j of json) expect(j.name).toMatch(/^(kyc_|process_|nodejs_)/);

    const text = await waitFor(async () => {
      const t = await scrape(stack!);
      const overdue = samples(t, 'kyc_escalations_overdue').find((s) => s.labels.provider === 'kira');
      return overdue?.value === 1 ? t : undefined;
    }, { timeoutMs: 15_000, what: 'the Sanctioned escalation to be counted open and overdue (SLA 1 s)' });

    expect(samples(text, 'kyc_escalations_open')).toEqual([{ labels: { provider: 'kira' }, value: 1 }]);
    const outcomes = samples(text, 'kyc_webhooks_received_total').filter((s) => s.labels.provider === 'kira').map((s) => s.labels.outcome);
    expect(outcomes.sort()).toEqual([...WEBHOOK_OUTCOMES].sort());
    expect(samples(text, 'kyc_webhooks_received_total').find((s) => s.labels.outcome === 'accepted')!.value).toBeGreaterThanOrEqual(3);
    const decisions = samples(text, 'kyc_decisions_total').map((s) => `${s.labels.action}/${s.labels.reason_code}`);
    expect(decisions).toEqual(expect.arrayContaining(['verify/none', 'escalate/sanctions_or_pep', 'reject/fraud_suspected']));
    expect(samples(text, 'kyc_time_to_decision_seconds_count').map((s) => s.labels.outcome).sort()).toEqual(['rejected', 'verified']);
    const queues = new Set(samples(text, 'kyc_queue_jobs').map((s) => s.labels.queue));
    expect([...queues]).toEqual(expect.arrayContaining(['kyc-events', 'provider-kira', 'reconcile']));
    expect(samples(text, 'kyc_queue_jobs').find((s) => s.labels.queue === 'provider-kira' && s.labels.state === 'completed')!.value).toBeGreaterThanOrEqual(3);
    expect(samples(text, 'kyc_provider_requests_total').some((s) => s.labels.operation === 'create_user' && s.labels.code_class === '2xx')).toBe(true);
    expect(samples(text, 'kyc_worker_consuming').every((s) => s.value === 1)).toBe(true);
    expect(text).toMatch(/^# TYPE kyc_notifications_total counter$/m);

    // No personal data and no per-user label values anywhere in the exposition.
    for (const a of people) {
      for (const v of [a.email, a.firstName, a.externalId, a.phone, a.dateOfBirth]) expect(text).not.toContain(String(v));
    }
    for (const id of [verified, escalated, rejected]) expect(text).not.toContain(id);
    const labelNames = new Set([...text.matchAll(/[{,](\w+)="/g)].map((m) => m[1]));
    for (const l of labelNames) expect(['provider', 'outcome', 'operation', 'code_class', 'from', 'to', 'action', 'reason_code', 'queue', 'state', 'le', 'quantile', 'version', 'major', 'minor', 'patch', 'kind', 'space', 'type']).toContain(l);

    if (!requireTools('promtool', 'promtool check metrics')) return;
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`).toBe('');
    expect(check.status).toBe(0);
  });

  it('reads queue depths and escalations from Redis at most once per TTL however many scrapes arrive', async () => {
    let reads = 0;
    let t = 0;
    const read = cachedRead(async () => { reads += 1; await new Promise((r) => setTimeout(r, 20)); return reads; }, { ttlMs: 1_000, timeoutMs: 500, now: () => t });
    const storm = await Promise.all(Array.from({ length: 50 }, () => read()));
    expect(new Set(storm)).toEqual(new Set([1]));
    expect(reads).toBe(1);
    t = 999;
    expect(await read()).toBe(1);
    t = 1_000;
    expect(await read()).toBe(2);
    const failing = cachedRead(() => Promise.reject(new Error('redis down')), { ttlMs: 1_000, timeoutMs: 500 });
    expect(await failing()).toBeUndefined();
    const hanging = cachedRead(() => new Promise<number>(() => undefined), { ttlMs: 1_000, timeoutMs: 50 });
    expect(await hanging()).toBeUndefined();
  });

  it('answers a scrape within a second while Redis is down, without the gauges read from Redis, and has them back after', async () => {
    const redis = await startOwnRedis();
    try {
      stack = await startStack({ redisUrl: redis.url, env: { SHUTDOWN_GRACE: '2s' } });
      expect(samples(await scrape(stack), 'kyc_queue_jobs').length).toBeGreaterThan(0);
      await redis.stop();
      await waitFor(async () => {
        const started = performance.now();
        const text = await scrape(stack!);
        expect(performance.now() - started).toBeLessThan(1_000);
        return samples(text, 'kyc_queue_jobs').length === 0 && samples(text, 'kyc_escalations_open').length === 0 && text.includes('kyc_webhooks_received_total{');
      }, { timeoutMs: 20_000, what: 'a scrape without the Redis-read gauges' }); // the escalation gauges are cached for 5 s
      await redis.start();
      await waitFor(async () => samples(await scrape(stack!), 'kyc_queue_jobs').length > 0, { timeoutMs: 15_000, what: 'queue gauges back' });
    } finally {
      await stack?.close().catch(() => undefined);
      stack = undefined;
      await redis.cleanup();
    }
  }, 60_000);
});
