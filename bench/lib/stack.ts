/**
 * The processes under test: our api and workers (`node --import tsx src/main.ts api|worker`, as
 * deployed), the Kira simulator in its own process, and the naive baseline receiver.
 */
import { freePort, httpReady, spawnNode, type Proc } from './procs.js';

export const API_TOKEN = 'bench-token';
export const WEBHOOK_SECRET = 'bench-kira-webhook-secret';
export const PREFIX = '{kyc}';
/**
 * Jobs per worker process and queue (WORKER_CONCURRENCY) for our workers and the no-op ceiling
 * alike. Above the default 16: with no provider rate limit, 16 leaves a worker waiting on round
 * trips rather than busy; BENCH_CONCURRENCY overrides it.
 */
export const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);

export interface ServiceEnv {
  redisUrl: string;
  kiraUrl: string;
  logDir: string;
}

function serviceEnv(e: ServiceEnv, port: number): Record<string, string> {
  return {
    PORT: String(port), HOST: '127.0.0.1', REDIS_URL: e.redisUrl, QUEUE_PREFIX: PREFIX,
    PROVIDERS_MODE: 'live', KIRA_BASE_URL: e.kiraUrl, KIRA_WEBHOOK_SECRETS: WEBHOOK_SECRET,
    // The simulator runs without a rate limit; so does our side (a high-allowance Kira account).
    KIRA_RATE_LIMIT: '100000', WORKER_CONCURRENCY: String(CONCURRENCY), API_TOKENS: API_TOKEN, LOG_LEVEL: 'info', SHUTDOWN_GRACE: '3s', NODE_ENV: 'production',
  };
}

export interface Running {
  proc: Proc;
  url: string;
}

export async function startApi(e: ServiceEnv, port: number, name = 'api'): Promise<Running> {
  const proc = spawnNode(name, 'src/main.ts', ['api'], { logDir: e.logDir, env: serviceEnv(e, port) });
  const url = `http://127.0.0.1:${port}`;
  await httpReady(`${url}/readyz`, name);
  return { proc, url };
}

export async function startWorker(e: ServiceEnv, name: string): Promise<Running> {
  const port = await freePort();
  const proc = spawnNode(name, 'src/main.ts', ['worker'], { logDir: e.logDir, env: serviceEnv(e, port) });
  const url = `http://127.0.0.1:${port}`;
  await httpReady(`${url}/readyz`, name);
  return { proc, url };
}

export async function startKiraSim(logDir: string, webhookUrl: string): Promise<Running> {
  const port = await freePort();
  const proc = spawnNode('kira-sim', 'bench/kira-sim.ts', [], {
    logDir, env: { PORT: String(port), WEBHOOK_URL: webhookUrl, KIRA_WEBHOOK_SECRETS: WEBHOOK_SECRET },
  });
  const url = `http://127.0.0.1:${port}`;
  await httpReady(`${url}/_sim/users`, 'kira simulator');
  return { proc, url };
}

export async function startNaive(redisUrl: string, logDir: string): Promise<Running> {
  const port = await freePort();
  const proc = spawnNode('naive', 'bench/naive-receiver.ts', [], {
    logDir, env: { PORT: String(port), REDIS_URL: redisUrl, QUEUE_PREFIX: 'naive' },
  });
  const url = `http://127.0.0.1:${port}`;
  await httpReady(`${url}/healthz`, 'naive receiver');
  return { proc, url };
}
