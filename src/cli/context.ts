/**
 * The service's own modules, wired for the CLI the way `service.ts` wires them, minus HTTP and
 * workers: one producer Redis connection, the case store, the producer and the case commands.
 */
import type { Config } from '../config/env.js';
import { redactRedisUrl } from '../config/redis-url.js';
import { PROVIDER_IDS } from '../kyc/types.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { createMetrics } from '../metrics/metrics.js';
import { createOutbox } from '../notifications/outbox.js';
import { createCaseCommands, type CaseCommands } from '../queue/case-commands.js';
import { createProducer, type Producer } from '../queue/producer.js';
import { createRedis, redisReady, type RedisClient } from '../queue/redis.js';
import { createCaseStore, type CaseStore } from '../store/case-store.js';
import { CliError, EXIT } from './errors.js';

export interface CliDeps {
  config: Config;
  redis: RedisClient;
  store: CaseStore;
  producer: Producer;
  commands: CaseCommands;
  clock: Clock;
  close(): Promise<void>;
}

/** How long the CLI waits for Redis before giving up (exit 1). */
const REDIS_READY_TIMEOUT_MS = 5_000;

export async function connect(config: Config, clock: Clock = systemClock): Promise<CliDeps> {
  const redis = createRedis(config.REDIS_URL, 'producer');
  try {
    await redisReady(redis, REDIS_READY_TIMEOUT_MS);
  } catch (err) {
    redis.disconnect();
    throw new CliError(`cannot reach Redis at ${redactUrl(config.REDIS_URL)} (waited ${REDIS_READY_TIMEOUT_MS / 1000} s): check REDIS_URL and that Redis is running`, EXIT.failure, { cause: err });
  }
  // As in service.ts: with a partner URL, a decision taken here (an operator's resolve) writes its
  // partner notification and relays it to the notifications queue, like the service's own.
  const outbox = config.PARTNER_WEBHOOK_URL && config.PARTNER_WEBHOOK_SECRET ? createOutbox(redis, config.QUEUE_PREFIX) : undefined;
  const store = createCaseStore({ redis, prefix: config.QUEUE_PREFIX, policy: { maxAttempts: config.MAX_REMEDIATION_ATTEMPTS }, pollSchedule: config.RECONCILE_SCHEDULE, deadlineMarginMs: config.DEADLINE_MARGIN, notifications: outbox !== undefined });
  // Queues for every provider: a command on a case (resolve → retry) must be able to enqueue its
  // follow-up job whichever provider the case belongs to; the workers of that provider take it.
  const producer = createProducer({
    connection: redis, prefix: config.QUEUE_PREFIX, providers: PROVIDER_IDS, dedupeTtlMs: config.WEBHOOK_DEDUPE_TTL,
    notifications: outbox && { retryWindowMs: config.NOTIFY_RETRY_WINDOW, backoffBaseMs: config.NOTIFY_BACKOFF_BASE, isPending: outbox.isPending },
  });
  // A queue without an 'error' listener prints every reconnect error with its stack; the CLI
  // reports Redis trouble through the commands that fail instead (as service.ts logs them).
  for (const q of producer.queues()) q.on('error', () => undefined);
  const commands = createCaseCommands({ store, producer, metrics: createMetrics({ defaultMetrics: false }), clock });
  async function close(): Promise<void> {
    await producer.close().catch(() => undefined);
    await redis.quit().catch(() => redis.disconnect());
  }
  return { config, redis, store, producer, commands, clock, close };
}

/** `redis://user:secret@host` → `redis://user:***@host` (cluster URLs alike): never print a password. */
export function redactUrl(url: string): string {
  return redactRedisUrl(url);
}
