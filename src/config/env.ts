/**
 * Configuration: parsed once from the environment with zod. Nothing else reads process.env.
 */
import { z } from 'zod';
import { EVENT_JOB_RETENTION_MS } from '../queue/catalog.js';
import { hasHashTag, isClusterUrl, RedisUrlSchema } from './redis-url.js';

const csv = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x.length > 0));

const durationList = z.string().transform((s, ctx) => {
  const out: number[] = [];
  for (const part of s.split(',').map((x) => x.trim()).filter(Boolean)) {
    const ms = parseDuration(part);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${part}" is not a duration like 30s, 5m, 1h, 1d` });
      return z.NEVER;
    }
    out.push(ms);
  }
  if (out.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'needs at least one duration' });
    return z.NEVER;
  }
  return out;
});

export function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(s);
  if (!m) return undefined;
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms'];
  return Math.round(Number(m[1]) * unit);
}

const optionalUrl = z.url({ protocol: /^https?$/ }).optional();
const base64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64').min(8);

export const ConfigSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().min(1).default('0.0.0.0'),
    /** redis://, rediss:// (one Redis) or redis+cluster://host1:port1,host2:port2 (see redis-url.ts). */
    REDIS_URL: RedisUrlSchema.default('redis://127.0.0.1:6379'),
    QUEUE_PREFIX: z.string().regex(/^[\w{}-]+$/, 'letters, digits, _ - { } only').default('{kyc}'),
    API_TOKENS: csv.default(['dev-token']),
    ADMIN_PASSWORD: z.string().min(8).optional(),
    PROVIDERS_MODE: z.enum(['simulated', 'live']).default('simulated'),
    KIRA_BASE_URL: optionalUrl,
    KIRA_API_KEY: z.string().min(1).default('sim-kira-api-key'),
    KIRA_CLIENT_ID: z.string().min(1).default('00000000-0000-4000-8000-000000000001'),
    KIRA_PASSWORD: z.string().min(1).default('sim-kira-password'),
    KIRA_WEBHOOK_SECRETS: csv.pipe(z.array(z.string().min(5)).min(1)).default(['sim-kira-webhook-secret']),
    /** Kira calls per second this account may make (PROVIDERS.md §2.5: 20/s unless Kira granted more). */
    KIRA_RATE_LIMIT: z.coerce.number().int().min(1).default(20),
    KRAKEN_BASE_URL: optionalUrl,
    KRAKEN_API_KEY: z.string().min(1).default('sim-kraken-api-key'),
    /** Base64, as Kraken issues it (the HMAC key is its decoded bytes). */
    KRAKEN_API_SECRET: base64.default('c2ltLWtyYWtlbi1hcGktc2VjcmV0LWZvci1sb2NhbC11c2U='),
    KRAKEN_WEBHOOK_SECRETS: csv.pipe(z.array(base64).min(1)).default(['c2ltLWtyYWtlbi13ZWJob29rLXNlY3JldA==']),
    WEALTHYHOOD_BASE_URL: optionalUrl,
    WEALTHYHOOD_AUTH_URL: optionalUrl,
    WEALTHYHOOD_CLIENT_ID: z.string().min(1).default('sim-wealthyhood-client'),
    WEALTHYHOOD_CLIENT_SECRET: z.string().min(1).default('sim-wealthyhood-secret'),
    WEALTHYHOOD_AUDIENCE: z.string().min(1).default('https://api.wealthyhood.com'),
    WEALTHYHOOD_SCHEMA: z.enum(['v1', 'v2']).default('v2'),
    PARTNER_WEBHOOK_URL: optionalUrl,
    PARTNER_WEBHOOK_SECRET: z.string().regex(/^whsec_[A-Za-z0-9+/=]+$/, 'must look like whsec_<base64>').optional(),
    /** How long a partner notification is retried before its case is dead-lettered. */
    NOTIFY_RETRY_WINDOW: durationList.transform((l) => l[0]!).default(24 * 3_600_000),
    /** First retry delay of a partner notification; doubles per attempt up to 5 min, with jitter. */
    NOTIFY_BACKOFF_BASE: durationList.transform((l) => l[0]!).default(5_000),
    /** Time limit of one delivery attempt to PARTNER_WEBHOOK_URL. */
    NOTIFY_TIMEOUT: durationList.transform((l) => l[0]!).default(10_000),
    PREFLIGHT: z.enum(['enforce', 'off']).default('enforce'),
    MAX_REMEDIATION_ATTEMPTS: z.coerce.number().int().min(0).max(10).default(3),
    RECONCILE_SCHEDULE: durationList.default([60_000, 300_000, 900_000, 3_600_000, 86_400_000]),
    ESCALATION_SLA: durationList.transform((l) => l[0]!).default(24 * 3_600_000),
    RECONCILE_TICK: durationList.transform((l) => l[0]!).default(5_000),
    DEADLINE_MARGIN: durationList.transform((l) => l[0]!).default(24 * 3_600_000),
    REASON_MAP_FILE: z.string().min(1).optional(),
    SIM_FAULTS: z.string().default(''),
    /** Must outlive the events queue's job retention (3 d), so dedupe covers every job on record. */
    WEBHOOK_DEDUPE_TTL: durationList.transform((l) => l[0]!).pipe(z.number().gt(EVENT_JOB_RETENTION_MS, 'must be longer than 3d, the time the events queue keeps its jobs')).default(7 * 86_400_000),
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
    PROVIDER_TIMEOUT: durationList.transform((l) => l[0]!).default(10_000),
    /** Consecutive retryable provider failures (5xx, timeouts, network) that open the provider's circuit. */
    CIRCUIT_FAILURE_THRESHOLD: z.coerce.number().int().min(1).max(1_000).default(5),
    /** Cool-down of an open circuit before one probe call goes through; doubles per failed probe. */
    CIRCUIT_OPEN_FOR: durationList.transform((l) => l[0]!).default(30_000),
    /** Longest cool-down after repeated failed probes. */
    CIRCUIT_OPEN_MAX: durationList.transform((l) => l[0]!).default(300_000),
    JOB_LOCK_DURATION: durationList.transform((l) => l[0]!).default(30_000),
    SHUTDOWN_GRACE: durationList.transform((l) => l[0]!).default(25_000),
    /** Readiness: a worker with jobs waiting that picked none for this long is not consuming (503). */
    READINESS_STALL: durationList.transform((l) => l[0]!).default(60_000),
    /** Longest a client may take to send a whole request (headers and body); then 408 and the connection is closed. */
    REQUEST_TIMEOUT: durationList.transform((l) => l[0]!).pipe(z.number().min(1, 'must be more than 0')).default(30_000),
    /** Longest a client may take to send the request headers; at most REQUEST_TIMEOUT. */
    HEADERS_TIMEOUT: durationList.transform((l) => l[0]!).pipe(z.number().min(1, 'must be more than 0')).default(10_000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
;

/**
 * Rules that tie settings together. They read the raw strings, so they are reported together with
 * per-field problems (zod skips object refinements once a field has failed).
 */
function crossFieldProblems(env: Record<string, string>): string[] {
  const out: string[] = [];
  if ((env.PROVIDERS_MODE ?? 'simulated') === 'live' && !env.KIRA_BASE_URL && !env.KRAKEN_BASE_URL && !env.WEALTHYHOOD_BASE_URL) {
    out.push('KIRA_BASE_URL: PROVIDERS_MODE=live needs at least one of KIRA_BASE_URL, KRAKEN_BASE_URL, WEALTHYHOOD_BASE_URL');
  }
  if (env.WEALTHYHOOD_BASE_URL && !env.WEALTHYHOOD_AUTH_URL) {
    out.push('WEALTHYHOOD_AUTH_URL: required when WEALTHYHOOD_BASE_URL is set (the Auth0 tenant URL)');
  }
  if (env.PARTNER_WEBHOOK_URL && !env.PARTNER_WEBHOOK_SECRET) {
    out.push('PARTNER_WEBHOOK_SECRET: required when PARTNER_WEBHOOK_URL is set');
  }
  // The multi-key Lua scripts and transactions need all of a deployment's keys in one slot.
  if (env.REDIS_URL && isClusterUrl(env.REDIS_URL) && !hasHashTag(env.QUEUE_PREFIX ?? '{kyc}')) {
    out.push('QUEUE_PREFIX: on a Redis Cluster it must hold a hash tag, e.g. {kyc} or {kyc}-eu (keeps every key of the deployment in one slot)');
  }
  // Node refuses to start a server whose headers timeout exceeds its request timeout.
  const requestMs = parseDuration(env.REQUEST_TIMEOUT ?? '30s');
  const headersMs = parseDuration(env.HEADERS_TIMEOUT ?? '10s');
  if (requestMs !== undefined && headersMs !== undefined && headersMs > requestMs) {
    out.push('HEADERS_TIMEOUT: must not exceed REQUEST_TIMEOUT (the headers are part of the request)');
  }
  return out;
}

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.join('\n')}`);
  }
}

/** Parses the environment; throws ConfigError with one line per problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(ConfigSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') input[key] = v;
  }
  const parsed = ConfigSchema.safeParse(input);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`)),
    ...crossFieldProblems(input),
  ];
  if (parsed.success && problems.length === 0) return parsed.data;
  throw new ConfigError(problems);
}
