/**
 * `npm start` in simulated mode: `startService` with no provider URL starts the built-in
 * simulators (src/simulators/start.ts) and points the adapters at them. One onboarding per
 * provider through `POST /v1/onboardings` reaches `verified`: Kraken by `user.verified`
 * (delivered to the service's own webhook route), Wealthyhood by polling alone.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.js';
import { startService, type Service } from '../../src/service.js';
import { sampleWealthyhoodApplicant } from '../../src/simulators/wealthyhood/index.js';
import { nonceKeys } from '../../src/store/nonce.js';
import { connectRedis, dropPrefix } from '../helpers/redis.js';
import { applicant, testConfig, TOKEN } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function simulatedService(env: Record<string, string> = {}): Promise<Service> {
  // A key of its own: the nonce sequence is per API key across the Redis.
  const apiKey = `sim-kraken-${randomUUID()}`;
  const config = testConfig({
    KRAKEN_API_KEY: apiKey,
    RECONCILE_SCHEDULE: '200ms',
    RECONCILE_TICK: '100ms',
    ...env,
  });
  expect(config.PROVIDERS_MODE).toBe('simulated');
  expect([config.KIRA_BASE_URL, config.KRAKEN_BASE_URL, config.WEALTHYHOOD_BASE_URL]).toEqual([
    undefined,
    undefined,
    undefined,
  ]);
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const svc = await startService({
    config,
    role: 'all',
    log: createLogger({ level: 'warn', destination: sink }),
  });
  cleanups.push(async () => {
    await svc.close();
    await dropPrefix(config.QUEUE_PREFIX);
    const r = connectRedis();
    await r.del(...Object.values(nonceKeys(apiKey)));
    r.disconnect();
  });
  return svc;
}

async function onboard(svc: Service, provider: string, a: Record<string, unknown>) {
  const post = await fetch(`${svc.url}/v1/onboardings`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ provider, applicant: a }),
  });
  expect(post.status).toBe(202);
  const { caseId } = (await post.json()) as { caseId: string };
  return waitFor(
    async () => {
      const res = await fetch(`${svc.url}/v1/cases/${caseId}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const c = (await res.json()) as {
        status: string;
        timeline: { source: string; to: string }[];
      };
      return c.status === 'verified' ? c : undefined;
    },
    { timeoutMs: 20_000, what: `${provider} case verified` },
  );
}

describe('simulated mode (no provider URLs): the built-in simulators serve every provider', () => {
  it('starts Kira, Kraken and Wealthyhood simulators; a Kraken and a Wealthyhood onboarding each reach verified', async () => {
    const svc = await simulatedService();
    expect(svc.simulators).toBeDefined();
    expect(svc.providers.ids().sort()).toEqual(['kira', 'kraken', 'wealthyhood']);

    const [kraken, wealthyhood] = await Promise.all([
      onboard(svc, 'kraken', applicant({ occupation: 'computers_and_it', tosVersionAccepted: 3 })),
      onboard(svc, 'wealthyhood', sampleWealthyhoodApplicant()),
    ]);
    // user.verified reaches the service's own webhook route (the 200 ms poll may get there first)
    expect(kraken.timeline.at(-1)).toMatchObject({ to: 'verified' });
    expect(['webhook', 'poll']).toContain(kraken.timeline.at(-1)!.source);
    expect(wealthyhood.timeline.at(-1)).toMatchObject({ source: 'poll', to: 'verified' });
    // The in-process simulators were the ones called.
    expect(svc.simulators!.kraken.users()).toHaveLength(1);
    expect(svc.simulators!.kraken.webhooks()).toEqual([
      expect.objectContaining({ enabled: true, url: `${svc.url}/webhooks/kraken` }),
    ]);
    expect(svc.simulators!.wealthyhood.users()).toHaveLength(1);
  });

  it('SIM_FAULTS=drop=1: the Kira simulator delivers no webhook, and polling still verifies the case (drift counted)', async () => {
    const svc = await simulatedService({ SIM_FAULTS: 'drop=1' });
    const kira = await onboard(svc, 'kira', applicant());
    expect(kira.timeline.at(-1)).toMatchObject({ source: 'poll', to: 'verified' });
    expect(svc.simulators!.kira.deliveries().length).toBeGreaterThan(0);
    expect(svc.simulators!.kira.deliveries().every((d) => d.status === 'dropped')).toBe(true);
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toMatch(/^kyc_reconcile_drift_total\{provider="kira"\} 1$/m);
  });
});
