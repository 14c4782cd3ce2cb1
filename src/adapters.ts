/**
 * Builds the provider adapters from configuration: one entry per provider. In live mode a
 * provider is enabled when its base URL is configured; in simulated mode every provider whose
 * simulator runs is enabled.
 */
import type { RedisClient } from './queue/redis.js';
import type { Config } from './config/env.js';
import type { ReasonMapper } from './kyc/reasons.js';
import type { ProviderId } from './kyc/types.js';
import type { Clock } from './lib/clock.js';
import type { HttpObserver } from './lib/http.js';
import { createKiraAdapter } from './providers/kira/index.js';
import { createKrakenAdapter } from './providers/kraken/index.js';
import { createWealthyhoodAdapter } from './providers/wealthyhood/index.js';
import { createRedisKrakenLedger } from './store/kraken-ledger.js';
import { createRedisNonceSource } from './store/nonce.js';
import type { ProviderAdapter } from './providers/provider-adapter.js';

export type ProviderUrls = Partial<Record<ProviderId, string>>;

export interface AdapterContext {
  config: Config;
  urls: ProviderUrls;
  clock: Clock;
  fetch?: typeof fetch;
  reasons: ReasonMapper;
  redis: RedisClient;
  observe(provider: ProviderId): HttpObserver;
}

type Builder = (ctx: AdapterContext, baseUrl: string) => ProviderAdapter;

const BUILDERS: Record<ProviderId, Builder | undefined> = {
  kira: (ctx, baseUrl) => {
    const c = ctx.config;
    return createKiraAdapter({
      baseUrl, apiKey: c.KIRA_API_KEY, clientId: c.KIRA_CLIENT_ID, password: c.KIRA_PASSWORD,
      webhookSecrets: c.KIRA_WEBHOOK_SECRETS, fetch: ctx.fetch, clock: ctx.clock, reasons: ctx.reasons,
      timeoutMs: c.PROVIDER_TIMEOUT, observe: ctx.observe('kira'), rateLimitPerSecond: c.KIRA_RATE_LIMIT,
    });
  },
  kraken: (ctx, baseUrl) => {
    const c = ctx.config;
    return createKrakenAdapter({
      baseUrl, apiKey: c.KRAKEN_API_KEY, apiSecret: c.KRAKEN_API_SECRET, webhookSecrets: c.KRAKEN_WEBHOOK_SECRETS,
      // One nonce sequence per API key across every process and host (PROVIDERS.md §4.4).
      nonces: createRedisNonceSource({ redis: ctx.redis, apiKey: c.KRAKEN_API_KEY, clock: ctx.clock }),
      // What every process told Kraken: IIBAN per external_id and field digests (PATCH only what differs).
      ledger: createRedisKrakenLedger({ redis: ctx.redis, prefix: c.QUEUE_PREFIX, apiKey: c.KRAKEN_API_KEY }),
      fetch: ctx.fetch, clock: ctx.clock, reasons: ctx.reasons, timeoutMs: c.PROVIDER_TIMEOUT, observe: ctx.observe('kraken'),
    });
  },
  wealthyhood: (ctx, baseUrl) => {
    const c = ctx.config;
    return createWealthyhoodAdapter({
      // In simulated mode the simulator also serves the Auth0 token endpoint.
      baseUrl, authUrl: c.WEALTHYHOOD_AUTH_URL ?? baseUrl, clientId: c.WEALTHYHOOD_CLIENT_ID,
      clientSecret: c.WEALTHYHOOD_CLIENT_SECRET, audience: c.WEALTHYHOOD_AUDIENCE, schema: c.WEALTHYHOOD_SCHEMA,
      fetch: ctx.fetch, clock: ctx.clock, reasons: ctx.reasons, timeoutMs: c.PROVIDER_TIMEOUT, observe: ctx.observe('wealthyhood'),
    });
  },
};

export function buildAdapters(ctx: AdapterContext): ProviderAdapter[] {
  const out: ProviderAdapter[] = [];
  for (const [id, build] of Object.entries(BUILDERS) as [ProviderId, Builder | undefined][]) {
    const url = ctx.urls[id];
    if (build && url) out.push(build(ctx, url));
  }
  return out;
}

/** Base URLs configured for live providers. */
export function configuredUrls(config: Config): ProviderUrls {
  return {
    ...(config.KIRA_BASE_URL ? { kira: config.KIRA_BASE_URL } : {}),
    ...(config.KRAKEN_BASE_URL ? { kraken: config.KRAKEN_BASE_URL } : {}),
    ...(config.WEALTHYHOOD_BASE_URL ? { wealthyhood: config.WEALTHYHOOD_BASE_URL } : {}),
  };
}
