/**
 * Entry point: `npm start [-- all|api|worker|simulators]`.
 *   all         api + workers (+ in-process simulators in simulated mode)   [default]
 *   api         HTTP only (webhooks, partner API, metrics, health)
 *   worker      queue workers only
 *   simulators  the provider simulators alone (for split api/worker runs in simulated mode)
 */
import { ConfigError, loadConfig, type Config } from './config/env.js';
import { systemClock } from './lib/clock.js';
import { createLogger, stdoutDestination } from './lib/logger.js';
import { configuredUrls } from './adapters.js';
import { startService } from './service.js';
import { startSimulators } from './simulators/start.js';

const ROLES = ['all', 'api', 'worker', 'simulators'] as const;
const SIM_PORT = 4010;
const SPLIT_SIM_URLS = {
  kira: `http://127.0.0.1:${SIM_PORT}`,
  kraken: `http://127.0.0.1:${SIM_PORT + 1}`,
  wealthyhood: `http://127.0.0.1:${SIM_PORT + 2}`,
};

function readConfig(): Config {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const line of err.problems) process.stderr.write(`config: ${line}\n`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const role = (process.argv[2] ?? 'all') as (typeof ROLES)[number];
  if (!ROLES.includes(role)) {
    process.stderr.write(`usage: npm start -- [${ROLES.join('|')}]\n`);
    process.exit(2);
  }
  const config = readConfig();
  const log = createLogger({ level: config.LOG_LEVEL, base: { role }, destination: stdoutDestination() });
  let close: () => Promise<void>;
  if (role === 'simulators') {
    const sims = await startSimulators(config, { clock: systemClock, log, port: SIM_PORT, host: config.HOST, webhookTarget: `http://127.0.0.1:${config.PORT}` });
    log.info(sims.urls, `simulators listening; webhooks go to http://127.0.0.1:${config.PORT}`);
    close = () => sims.close();
  } else {
    // api and worker apart in simulated mode: the simulators run in their own process
    // (`npm start -- simulators`) on fixed ports, Kira, Kraken, Wealthyhood in that order.
    const splitSimulated = role !== 'all' && config.PROVIDERS_MODE === 'simulated';
    const service = await startService({
      config, role, log,
      providerUrls: splitSimulated ? { ...SPLIT_SIM_URLS, ...configuredUrls(config) } : undefined,
    });
    close = () => service.close();
    announce(log, role, service.url, config, service.simulators?.kira.url);
  }
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    // close() itself ends within SHUTDOWN_GRACE + 5 s, even with Redis away; this is a last resort.
    const timer = setTimeout(() => process.exit(1), config.SHUTDOWN_GRACE + 10_000).unref();
    close().then(() => { clearTimeout(timer); process.exit(0); }, (err: unknown) => { log.error({ err }, 'shutdown failed'); process.exit(1); });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

function announce(log: ReturnType<typeof createLogger>, role: string, url: string | undefined, config: Config, simUrl?: string): void {
  if (!url) {
    log.info({ role, mode: config.PROVIDERS_MODE }, 'workers consuming');
    return;
  }
  const token = config.API_TOKENS[0] ?? '<token>';
  log.info({ role, url, mode: config.PROVIDERS_MODE, kiraSimulator: simUrl }, `kyc-orchestrator listening on ${url}`);
  process.stdout.write(
    `\nkyc-orchestrator (${role}, providers ${config.PROVIDERS_MODE}) listening on ${url}\nTry:\n` +
      `  curl -s -X POST ${url}/v1/onboardings -H 'Authorization: Bearer ${token}' -H 'Content-Type: application/json' \\\n` +
      `    -d @examples/applicant-kira.json\n  curl -s ${url}/v1/cases/<caseId> -H 'Authorization: Bearer ${token}'\n\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
