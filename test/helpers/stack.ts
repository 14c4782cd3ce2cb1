/**
 * A whole stack for integration tests: a Kira simulator (real HTTP) and the service (api +
 * workers) on a unique Redis prefix, with the simulator delivering webhooks to the service.
 */
import { Writable } from 'node:stream';
import type { ProviderUrls } from '../../src/adapters.js';
import { loadConfig, type Config } from '../../src/config/env.js';
import { createLogger } from '../../src/lib/logger.js';
import { startService, type Role, type Service } from '../../src/service.js';
import { startKiraSimulator, type KiraSimulator, type KiraSimulatorOptions } from '../../src/simulators/kira/index.js';
import { dropPrefix, REDIS_URL, uniquePrefix } from './redis.js';

export const TOKEN = 'test-token';
export const SECRETS = ['whsec-new-0001', 'whsec-old-0002'];

export interface Stack {
  svc: Service;
  sim: KiraSimulator;
  config: Config;
  url: string;
  logs: string[];
  api(path: string, init?: { method?: string; body?: unknown; token?: string }): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    REDIS_URL, QUEUE_PREFIX: uniquePrefix(), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info',
    API_TOKENS: TOKEN, KIRA_WEBHOOK_SECRETS: SECRETS.join(','), WORKER_CONCURRENCY: '8', ...env,
  });
}

export interface StackOptions {
  env?: Record<string, string>;
  sim?: Partial<KiraSimulatorOptions>;
  role?: Role;
  redisUrl?: string;
  /** Base URLs of other providers' simulators started by the test (e.g. `{ kraken: sim.url }`). */
  providerUrls?: ProviderUrls;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const config = testConfig({ ...(opts.redisUrl ? { REDIS_URL: opts.redisUrl } : {}), ...opts.env });
  const logs: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { logs.push(chunk.toString()); cb(); } });
  const log = createLogger({ level: 'debug', destination: sink });
  const sim = await startKiraSimulator({
    apiKey: config.KIRA_API_KEY, clientId: config.KIRA_CLIENT_ID, password: config.KIRA_PASSWORD,
    webhookSecrets: [SECRETS[0]!], autoRejectDelayMs: 150, verifyDelayMs: 150, ...opts.sim,
  });
  const svc = await startService({ config, role: opts.role ?? 'all', log, providerUrls: { kira: sim.url, ...opts.providerUrls } });
  const url = svc.url!;
  sim.setWebhookUrl(`${url}/webhooks/kira`);
  return {
    svc, sim, config, url, logs,
    async api(path, init = {}) {
      const res = await fetch(`${url}${path}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: { authorization: `Bearer ${init.token ?? TOKEN}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
    },
    async close() {
      await svc.close();
      await sim.close();
      await dropPrefix(config.QUEUE_PREFIX, config.REDIS_URL);
    },
  };
}

let seq = 0;
/** A complete applicant the Kira simulator verifies; override fields per test. */
export function applicant(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  seq += 1;
  return {
    externalId: `ext-${Date.now().toString(36)}-${seq}-${Math.random().toString(36).slice(2, 6)}`,
    email: `person${seq}@example.com`, phone: '+4915112345678', firstName: 'Erika', lastName: 'Mustermann',
    dateOfBirth: '1988-02-03', gender: 'female', nationalities: ['DE'],
    address: { line1: 'Hauptstr. 1', city: 'Berlin', postalCode: '10115', region: 'BE', country: 'DE' },
    taxIds: [{ id: '12345678901', country: 'DE' }],
    identityDocument: { type: 'passport', number: 'C01X00T47', country: 'DE', expiresOn: '2030-01-01' },
    occupation: 'engineer', employmentStatus: 'employed', sourceOfFunds: 'salary', accountPurpose: 'receive_payments', pep: false,
    ...overrides,
  };
}
