/**
 * Scale-out on a Redis Cluster (issue 7 §4): a local 3-master cluster started the way an operator
 * would (`redis-server --cluster-enabled yes` ×3, `redis-cli --cluster create`), then
 * - the service itself (startService: api + workers) onboards a Kira case to verified on it, and
 * - the whole integration suite runs against it as a child process (`npx vitest run
 *   test/integration` with REDIS_URL=redis+cluster://…) and must pass.
 * Each test uses its own prefix `{t-…}`, whose hash tag puts it in a random slot: the suite's
 * tests land on different masters, so the run exercises the client's routing across nodes; the
 * test checks that at least 2 of the 3 masters served a real share of the key lookups.
 *
 * Nothing is excluded from the suite: the tests that stop or kill Redis (Redis outage, readiness,
 * CLI interrupted by an outage) start their own standalone redis-server and never use REDIS_URL
 * for it, so they run unchanged next to the cluster.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, scanKeys } from '../helpers/redis.js';
import { startOwnCluster, type OwnCluster } from '../helpers/redis-cluster.js';
import { applicant, startStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

let cluster: OwnCluster;
/** The nested vitest run, killed with its workers (its process group) if this test gives up on it. */
let suite: ChildProcess | undefined;
beforeAll(async () => { cluster = await startOwnCluster(); });
afterAll(async () => {
  if (suite?.pid !== undefined && suite.exitCode === null && suite.signalCode === null) process.kill(-suite.pid, 'SIGKILL');
  await cluster?.cleanup();
});

/** Keys on the cluster, all masters. */
async function allKeys(): Promise<string[]> {
  const r = connectRedis(cluster.url);
  try {
    return await scanKeys(r, '*');
  } finally {
    r.disconnect();
  }
}

interface SuiteRun { code: number | null; output: string }

function runIntegrationSuite(reportFile: string): Promise<SuiteRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['vitest', 'run', 'test/integration', '--reporter=dot', '--reporter=json', `--outputFile.json=${reportFile}`], {
      // Only what the suite reads: a clean environment, not this vitest worker's own variables.
      env: {
        PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', REDIS_URL: cluster.url,
        ...(process.env.CI ? { CI: process.env.CI } : {}), ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    suite = child;
    let output = '';
    const keep = (b: Buffer): void => { output = (output + b.toString()).slice(-20_000); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('Redis Cluster (3 masters, no replicas)', () => {
  it('startService on the cluster onboards a Kira case to verified; its keys share one slot on one master', async () => {
    const stack = await startStack({ redisUrl: cluster.url });
    try {
      const created = await stack.api('/v1/onboardings', { body: { provider: 'kira', applicant: applicant() } });
      expect(created.status).toBe(202);
      const id = created.body.caseId as string;
      const done = await waitFor(async () => {
        const c = await stack.api(`/v1/cases/${id}`);
        return c.body.status === 'verified' ? c.body : undefined;
      }, { timeoutMs: 20_000, what: 'the case to be verified' });
      const events = (done.timeline as { event: string }[]).map((e) => e.event);
      expect(events[0]).toBe('onboarding_received');
      expect(events).toContain('provider_user_created');
      expect(done.timeline.at(-1)).toMatchObject({ to: 'verified' });
      expect(stack.sim.requests().filter((r) => r.method === 'POST' && r.path === '/v1/users')).toHaveLength(1);
      // Readiness pings every master.
      expect(await fetch(`${stack.url}/readyz`).then((r) => r.json())).toMatchObject({ status: 'ready', redis: true });
      // Every key of the deployment (case store, BullMQ, dedupe, circuits) is under its prefix,
      // hence in one slot: all of it sits on exactly one master.
      const prefix = stack.config.QUEUE_PREFIX;
      const keys = await allKeys();
      expect(keys.length).toBeGreaterThan(5);
      expect(keys.filter((k) => !k.startsWith(`${prefix}:`))).toEqual([]);
      expect((await cluster.dbsizes()).filter((n) => n > 0)).toHaveLength(1);
    } finally {
      await stack.close();
    }
    expect(await allKeys()).toEqual([]);
  }, 60_000);

  // The suite alone takes ~2-4 min on a 2-core machine: more than the faults suite's 300 s default.
  it('runs the whole integration suite against the cluster: it passes, across at least 2 masters, and leaves no key behind', async () => {
    await cluster.resetStats();
    const report = join(tmpdir(), `kyc-cluster-suite-${randomUUID()}.json`);
    try {
      const run = await runIntegrationSuite(report);
      // The counts first, so that a failing run still says how far it got.
      const result = JSON.parse(readFileSync(report, 'utf8')) as { numTotalTests: number; numPassedTests: number; numFailedTests: number; numPendingTests: number; testResults: unknown[] };
      const lookups = (await cluster.info('stats')).map((s) => Number(s.keyspace_hits) + Number(s.keyspace_misses));
      process.stdout.write(`integration suite on the Redis Cluster: ${result.numPassedTests}/${result.numTotalTests} tests passed, ${result.numFailedTests} failed, `
        + `${result.numPendingTests} skipped, in ${result.testResults.length} files; key lookups per master: ${lookups.join(', ')}\n`);
      expect(run.code, run.output).toBe(0);
      expect(result.numFailedTests).toBe(0);
      expect(result.numPassedTests).toBeGreaterThan(100);
      // Cross-node routing really happened: at least 2 masters each served a real share.
      const total = lookups.reduce((a, b) => a + b, 0);
      expect(lookups.filter((n) => n >= total * 0.05).length).toBeGreaterThanOrEqual(2);
      // Every test drops its prefix (and the Kraken tests their nonce keys) afterwards: a key
      // written outside a prefix would still be here.
      expect(await allKeys()).toEqual([]);
    } finally {
      rmSync(report, { force: true });
    }
  }, 600_000);
});
