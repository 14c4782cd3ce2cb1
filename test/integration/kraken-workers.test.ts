/**
 * One Kraken API key shared by two worker processes: the nonce sequence and the call order are
 * coordinated through Redis, so the simulator (which refuses any nonce not above the last one)
 * never sees an invalid nonce.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startKrakenSimulator } from '../../src/simulators/kraken/index.js';
import { nonceKeys } from '../../src/store/nonce.js';
import { connectRedis, dropPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { applicant, startStack, TOKEN, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const API_SECRET = Buffer.from('kraken-api-secret-shared-by-two-workers').toString('base64');
const HOOK_SECRET = Buffer.from('kraken-webhook-secret-two-workers').toString('base64');
const USERS = 200;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface WorkerProcess {
  child: ChildProcess;
  /** JSON log lines the process wrote. */
  lines: string[];
}

function startWorker(env: NodeJS.ProcessEnv): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let rest = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split('\n');
    rest = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr.on('data', () => undefined);
  cleanups.push(async () => {
    if (child.exitCode === null) {
      await new Promise<void>((r) => {
        child.once('exit', () => r());
        child.kill('SIGKILL');
      });
    }
  });
  return { child, lines };
}

/** Create jobs this process finished (its per-job log line: queue + outcome). */
const createsDone = (w: WorkerProcess): number =>
  w.lines.filter(
    (l) =>
      l.includes('"queue":"provider-kraken"') && /"(result|outcome)":"(created|adopted)"/.test(l),
  ).length;

describe('Kraken nonces across worker processes', () => {
  it(`two worker processes create ${USERS} users concurrently with one API key: zero nonce rejections`, async () => {
    const prefix = uniquePrefix();
    const apiKey = `kraken-shared-${randomUUID()}`;
    const sim = await startKrakenSimulator({
      apiKey,
      apiSecret: API_SECRET,
      webhookSecrets: [HOOK_SECRET],
      decisionDelayMs: 100,
    });
    cleanups.push(() => sim.close());
    const kraken = {
      KRAKEN_API_KEY: apiKey,
      KRAKEN_API_SECRET: API_SECRET,
      KRAKEN_WEBHOOK_SECRETS: HOOK_SECRET,
    };
    const stack: Stack = await startStack({
      role: 'api',
      env: { QUEUE_PREFIX: prefix, ...kraken },
      providerUrls: { kraken: sim.url },
    });
    cleanups.push(async () => {
      await stack.close();
      await dropPrefix(prefix);
      const r = connectRedis(REDIS_URL);
      await r.del(...Object.values(nonceKeys(apiKey)));
      r.disconnect();
    });
    sim.setWebhookUrl(`${stack.url}/webhooks/kraken`);

    const env = {
      ...process.env,
      ...kraken,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      PROVIDERS_MODE: 'live',
      KRAKEN_BASE_URL: sim.url,
      KIRA_BASE_URL: '',
      API_TOKENS: TOKEN,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      WORKER_CONCURRENCY: '16',
    };
    const workers = [startWorker(env), startWorker(env)];
    await waitFor(
      () => workers.every((w) => w.lines.some((l) => l.includes('workers consuming'))),
      { timeoutMs: 30_000, what: 'both workers consuming' },
    );

    const applicants = Array.from({ length: USERS }, () =>
      applicant({ occupation: 'computers_and_it', tosVersionAccepted: 3 }),
    );
    const caseIds: string[] = [];
    for (let i = 0; i < USERS; i += 50) {
      const batch = await Promise.all(
        applicants
          .slice(i, i + 50)
          .map((a) => stack.api('/v1/onboardings', { body: { provider: 'kraken', applicant: a } })),
      );
      for (const res of batch) {
        expect(res.status).toBe(202);
        caseIds.push(res.body.caseId as string);
      }
    }

    await waitFor(() => sim.users().length === USERS, {
      timeoutMs: 90_000,
      intervalMs: 200,
      what: `${USERS} Kraken users`,
    });
    await waitFor(
      async () => {
        const linked = await Promise.all(
          caseIds.map(async (id) => (await stack.svc.store.get(id))?.providerUserId),
        );
        return linked.every((u) => u !== undefined);
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'every case linked to its IIBAN' },
    );

    // A case is linked inside the job, before the job's own log line is written and read back
    // from the pipe: wait for every create's line too.
    const createsLogged = () => workers.map(createsDone).reduce((x, y) => x + y, 0);
    await waitFor(() => createsLogged() >= USERS, { timeoutMs: 30_000, intervalMs: 100, what: `${USERS} create-user job lines` });

    const requests = sim.requests();
    const nonceRejections = requests.filter((r) => r.authFailure === 'invalid_nonce').length;
    const authFailures = requests.filter((r) => r.authFailure !== undefined).length;
    const creates = requests.filter((r) => r.method === 'POST' && r.path === '/b2b/users');
    process.stdout.write(
      `kraken nonces: ${nonceRejections} nonce rejections of ${requests.length} requests (${creates.length} creates); creates by worker: ${workers.map(createsDone).join(' + ')}\n`,
    );
    expect(nonceRejections).toBe(0);
    expect(authFailures).toBe(0);
    expect(creates.every((r) => r.status === 201)).toBe(true);
    // Nonces reached the simulator in strictly increasing order.
    const nonces = requests.flatMap((r) => (r.nonce ? [BigInt(r.nonce)] : []));
    expect(nonces.every((n, i) => i === 0 || n > nonces[i - 1]!)).toBe(true);
    // One IIBAN per applicant, and both processes did part of the work.
    expect(new Set(sim.users().map((u) => u.externalId)).size).toBe(USERS);
    expect(workers.map(createsDone).every((n) => n > 0)).toBe(true);
    expect(createsLogged()).toBe(USERS);
  }, 180_000);
});
