/**
 * `npm start -- simulators|api|worker`: the three roles as separate processes in simulated mode
 * (no provider URL configured). The api and the worker find the simulators on their fixed ports
 * (4010 Kira, 4011 Kraken, 4012 Wealthyhood), the simulators deliver webhooks to the api's PORT,
 * and one onboarding per provider reaches `verified`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sampleWealthyhoodApplicant } from '../../src/simulators/wealthyhood/index.js';
import { nonceKeys } from '../../src/store/nonce.js';
import { caseVia, onboardVia } from '../helpers/client.js';
import { processHarness, spawnService } from '../helpers/processes.js';
import { connectRedis, dropPrefix, freePort, REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { applicant, TOKEN } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const { procs, cleanups } = processHarness();

describe('split roles in simulated mode', () => {
  it('simulators, api and worker as three processes onboard at Kira, Kraken and Wealthyhood', async () => {
    const prefix = uniquePrefix();
    const krakenKey = `sim-kraken-${randomUUID()}`;
    const apiPort = await freePort();
    const env = {
      REDIS_URL, QUEUE_PREFIX: prefix, API_TOKENS: TOKEN, KRAKEN_API_KEY: krakenKey,
      RECONCILE_SCHEDULE: '300ms', RECONCILE_TICK: '200ms', LOG_LEVEL: 'warn',
    };
    const sims: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'simulators'], {
      env: { PATH: process.env.PATH ?? '', ...env, HOST: '127.0.0.1', PORT: String(apiPort) }, stdio: 'ignore',
    });
    const simsExited = new Promise((r) => sims.once('exit', r));
    cleanups.push(async () => {
      sims.kill('SIGKILL');
      await simsExited;
      await dropPrefix(prefix);
      const r = connectRedis();
      await r.del(...Object.values(nonceKeys(krakenKey)));
      r.disconnect();
    });
    await waitFor(async () => (await fetch('http://127.0.0.1:4012/oauth/token', { method: 'POST' })).status > 0, { timeoutMs: 30_000, what: 'the simulators on 4010-4012' });
    const api = await spawnService('api', env, { port: apiPort });
    procs.push(api, await spawnService('worker', env));

    const kira = await onboardVia(api.url, applicant());
    const kraken = await onboardVia(api.url, applicant({ occupation: 'computers_and_it', tosVersionAccepted: 3 }), 'kraken');
    const wealthyhood = await onboardVia(api.url, sampleWealthyhoodApplicant(), 'wealthyhood');
    for (const id of [kira, kraken, wealthyhood]) {
      const c = await waitFor(async () => {
        const got = await caseVia(api.url, id);
        return got.status === 'verified' ? got : undefined;
      }, { timeoutMs: 30_000, what: `case ${id} verified` });
      expect(c.providerUserId).toEqual(expect.any(String));
    }
    // Kira's verdict came by webhook to the api process (the simulators know only its PORT).
    expect((await caseVia(api.url, kira)).timeline.some((e: { source: string }) => e.source === 'webhook')).toBe(true);
  });
});
