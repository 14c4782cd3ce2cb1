/**
 * Starts the provider simulators for simulated mode, configured with the same credentials and
 * webhook secrets as the service, delivering webhooks to the service's own HTTP address.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/env.js';
import type { Clock } from '../lib/clock.js';
import type { ProviderId } from '../kyc/types.js';
import { parseSimFaults, startKiraSimulator, type KiraSimulator } from './kira/index.js';
import { startKrakenSimulator, type KrakenSimulator } from './kraken/index.js';
import { startWealthyhoodSimulator, type WealthyhoodSimulator } from './wealthyhood/index.js';

export interface Simulators {
  kira: KiraSimulator;
  kraken: KrakenSimulator;
  /** Polling only: no webhooks, so no webhook target. */
  wealthyhood: WealthyhoodSimulator;
  /** Base URL of each running simulator, by provider. */
  urls: Partial<Record<ProviderId, string>>;
  /** Points every simulator's webhook delivery at `baseUrl` (the service's api). */
  setWebhookTarget(baseUrl: string): void;
  close(): Promise<void>;
}

export async function startSimulators(
  config: Config,
  opts: { clock: Clock; log: Logger; port?: number; host?: string; webhookTarget?: string },
): Promise<Simulators> {
  const faults = parseSimFaults(config.SIM_FAULTS);
  const kira = await startKiraSimulator({
    apiKey: config.KIRA_API_KEY,
    clientId: config.KIRA_CLIENT_ID,
    password: config.KIRA_PASSWORD,
    webhookSecrets: config.KIRA_WEBHOOK_SECRETS,
    faults,
    clock: opts.clock,
    port: opts.port ?? 0,
    host: opts.host ?? '127.0.0.1',
    logger: opts.log,
    ...(opts.webhookTarget ? { webhookUrl: `${opts.webhookTarget}/webhooks/kira` } : {}),
  });
  const kraken = await startKrakenSimulator({
    apiKey: config.KRAKEN_API_KEY,
    apiSecret: config.KRAKEN_API_SECRET,
    webhookSecrets: config.KRAKEN_WEBHOOK_SECRETS,
    faults,
    clock: opts.clock,
    // A fixed port for Kira means the next one for Kraken (the `simulators` role: 4010, 4011).
    port: opts.port ? opts.port + 1 : 0,
    host: opts.host ?? '127.0.0.1',
    logger: opts.log,
    ...(opts.webhookTarget ? { webhookUrl: `${opts.webhookTarget}/webhooks/kraken` } : {}),
  });
  const wealthyhood = await startWealthyhoodSimulator({
    clientId: config.WEALTHYHOOD_CLIENT_ID,
    clientSecret: config.WEALTHYHOOD_CLIENT_SECRET,
    audience: config.WEALTHYHOOD_AUDIENCE,
    schema: config.WEALTHYHOOD_SCHEMA,
    faults,
    clock: opts.clock,
    // Serves the Auth0 token endpoint too; with a fixed port it takes the one after Kraken (4012).
    port: opts.port ? opts.port + 2 : 0,
    host: opts.host ?? '127.0.0.1',
    logger: opts.log,
  });
  return {
    kira,
    kraken,
    wealthyhood,
    urls: { kira: kira.url, kraken: kraken.url, wealthyhood: wealthyhood.url },
    setWebhookTarget: (baseUrl) => {
      kira.setWebhookUrl(`${baseUrl}/webhooks/kira`);
      kraken.setWebhookUrl(`${baseUrl}/webhooks/kraken`);
    },
    close: async () => {
      await Promise.all([kira.close(), kraken.close(), wealthyhood.close()]);
    },
  };
}
