/**
 * The Kira simulator in its own process for the end-to-end benchmark: no rate limit, no injected
 * latency or faults, decisions at once, webhooks to WEBHOOK_URL on raw keep-alive connections.
 * Env: PORT, WEBHOOK_URL, and the same KIRA_* credentials the service is given.
 */
import { startKiraSimulator } from '../src/simulators/kira/index.js';
import { pooledRawFetch } from './lib/raw-http.js';

async function main(): Promise<void> {
  const sim = await startKiraSimulator({
    apiKey: process.env.KIRA_API_KEY ?? 'sim-kira-api-key',
    clientId: process.env.KIRA_CLIENT_ID ?? '00000000-0000-4000-8000-000000000001',
    password: process.env.KIRA_PASSWORD ?? 'sim-kira-password',
    webhookSecrets: (process.env.KIRA_WEBHOOK_SECRETS ?? 'sim-kira-webhook-secret').split(','),
    webhookUrl: process.env.WEBHOOK_URL,
    // Webhooks on raw keep-alive connections (lib/raw-http.ts): less of the shared cores than node:http.
    webhookFetch: pooledRawFetch(),
    rateLimit: false,
    verifyDelayMs: 0,
    autoRejectDelayMs: 0,
    port: Number(process.env.PORT ?? 0),
  });
  process.stdout.write(`kira simulator on ${sim.url}\n`);
  process.once('SIGTERM', () => {
    void sim.close().finally(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`kira-sim: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
