/**
 * Builds and starts the service from a Config: the api (HTTP), the workers, or both, and in
 * simulated mode the provider simulators. Tests and benchmarks use this too, injecting the clock,
 * fetch and logger; `main.ts` only parses the command line and the environment.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import type { Worker } from 'bullmq';
import type { Logger } from 'pino';
import { createApp } from './app.js';
import type { Config } from './config/env.js';
import { createReasonMapper, DEFAULT_REASON_RULES, ReasonRulesFileSchema } from './kyc/reasons.js';
import { systemClock, type Clock } from './lib/clock.js';
import { createLogger, throttledErrorLog } from './lib/logger.js';
import { codeClass, createMetrics, initCounters, type Metrics } from './metrics/metrics.js';
import { cachedRead, escalationSource, queueCountsSource } from './metrics/scrape-sources.js';
import { createWorkerActivity, type WorkerActivity } from './metrics/worker-activity.js';
import { opsApp } from './http/health.js';
import { buildAdapters, configuredUrls, type ProviderUrls } from './adapters.js';
import type { ProviderId } from './kyc/types.js';
import type { HttpObserver } from './lib/http.js';
import { createProviderRegistry, type ProviderRegistry } from './providers/registry.js';
import { withCircuitBreaker } from './providers/circuit-guard.js';
import { createCircuitBreakers } from './store/circuit-breaker.js';
import { createCaseCommands } from './queue/case-commands.js';
import { createProducer, type Producer } from './queue/producer.js';
import { createRedis, redisReady } from './queue/redis.js';
import { startSimulators, type Simulators } from './simulators/start.js';
import { createCaseStore, type CaseStore } from './store/case-store.js';
import { createNotifications, createOutbox, secretKey } from './notifications/index.js';
import { SHUTDOWN_REASON } from './workers/job-context.js';
import { startWorkers } from './workers/workers.js';

export type Role = 'all' | 'api' | 'worker';

export interface ServiceOptions {
  config: Config;
  role: Role;
  clock?: Clock;
  fetch?: typeof fetch;
  log?: Logger;
  /** Base URLs of providers, overriding config (tests point these at their own simulators). */
  providerUrls?: ProviderUrls;
  /** Start in-process simulators when no provider URL is known (simulated mode). Default true. */
  startSimulators?: boolean;
}

export interface Service {
  url?: string;
  store: CaseStore;
  producer: Producer;
  metrics: Metrics;
  providers: ProviderRegistry;
  simulators?: Simulators;
  workers: Worker[];
  /** Progress of this process's workers (readiness); undefined without workers. */
  workerActivity?: WorkerActivity;
  /** Worker-only processes: where /healthz, /readyz and /metrics are served. */
  opsUrl?: string;
  close(graceMs?: number): Promise<void>;
}

/**
 * A worker trusts a closed circuit it saw this recently without reading Redis again (lib/circuit.ts):
 * on a healthy provider a call then costs no circuit round trip, and another process's opening
 * holds this one's calls back within a second (its own failures, at once).
 */
const CIRCUIT_CLOSED_CACHE_MS = 1_000;

export async function startService(opts: ServiceOptions): Promise<Service> {
  const { config } = opts;
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? createLogger({ level: config.LOG_LEVEL });
  const metrics = createMetrics();
  const redis = createRedis(config.REDIS_URL, 'producer');
  const workerRedis = opts.role === 'api' ? undefined : createRedis(config.REDIS_URL, 'worker');
  await redisReady(redis);

  let simulators: Simulators | undefined;
  let urls: ProviderUrls = { ...configuredUrls(config), ...opts.providerUrls };
  if (Object.keys(urls).length === 0 && config.PROVIDERS_MODE === 'simulated' && opts.startSimulators !== false) {
    simulators = await startSimulators(config, { clock, log: log.child({ component: 'simulator' }) });
    urls = simulators.urls;
  }
  const observe = (provider: ProviderId): HttpObserver => (e) => {
    metrics.providerRequests.inc({ provider, operation: e.operation, code_class: codeClass(e.status) });
    metrics.providerRequestSeconds.observe({ provider, operation: e.operation }, e.seconds);
  };
  // One circuit per provider, its state in Redis, shared by every worker process and host.
  const circuits = createCircuitBreakers({
    redis, prefix: config.QUEUE_PREFIX, clock, log,
    // A probe runs as one job: its lease is the job's time limit (the jobTimeoutMs given to the workers).
    policy: { failureThreshold: config.CIRCUIT_FAILURE_THRESHOLD, openForMs: config.CIRCUIT_OPEN_FOR, maxOpenForMs: config.CIRCUIT_OPEN_MAX, probeLeaseMs: config.PROVIDER_TIMEOUT * 4, closedCacheMs: CIRCUIT_CLOSED_CACHE_MS },
    onTransition: (provider, to) => metrics.circuitTransitions.inc({ provider, to }),
    onReject: (provider) => metrics.circuitRejected.inc({ provider }),
  });
  const adapters = buildAdapters({ config, urls, clock, fetch: opts.fetch, reasons: reasonMapper(config), redis, observe });
  const providers = createProviderRegistry(adapters.map((a) => withCircuitBreaker(a, circuits.get(a.id))));
  if (providers.ids().length === 0) throw new Error('no provider is configured: set KIRA_BASE_URL (or use PROVIDERS_MODE=simulated)');
  // Partner notifications only with a partner URL (config requires the secret with it).
  const partner = config.PARTNER_WEBHOOK_URL && config.PARTNER_WEBHOOK_SECRET ? { url: config.PARTNER_WEBHOOK_URL, key: secretKey(config.PARTNER_WEBHOOK_SECRET) } : undefined;
  const outbox = partner ? createOutbox(redis, config.QUEUE_PREFIX) : undefined;
  const store = createCaseStore({ redis, prefix: config.QUEUE_PREFIX, policy: { maxAttempts: config.MAX_REMEDIATION_ATTEMPTS }, pollSchedule: config.RECONCILE_SCHEDULE, deadlineMarginMs: config.DEADLINE_MARGIN, notifications: partner !== undefined });
  const producer = createProducer({
    connection: redis, prefix: config.QUEUE_PREFIX, providers: providers.ids(), dedupeTtlMs: config.WEBHOOK_DEDUPE_TTL,
    notifications: outbox && { retryWindowMs: config.NOTIFY_RETRY_WINDOW, backoffBaseMs: config.NOTIFY_BACKOFF_BASE, isPending: outbox.isPending },
  });
  const notifications = partner && outbox && workerRedis
    ? createNotifications({ outbox, producer, target: { ...partner, timeoutMs: config.NOTIFY_TIMEOUT, fetch: opts.fetch ?? fetch }, retryWindowMs: config.NOTIFY_RETRY_WINDOW, clock, metrics, log })
    : undefined;
  const commands = createCaseCommands({ store, producer, metrics, clock });
  initCounters(metrics, { providers: providers.ids(), queues: producer.queues().map((q) => q.name) });
  metrics.setSources({
    queueCounts: queueCountsSource(producer.queues()),
    escalations: escalationSource({ redis, keys: store.keys, slaMs: config.ESCALATION_SLA, clock, providers: providers.ids() }),
    circuits: cachedRead(() => circuits.states(), { ttlMs: 1_000, timeoutMs: 1_000 }),
  });

  const workers = workerRedis
    ? startWorkers({
        connection: workerRedis, prefix: config.QUEUE_PREFIX, store, commands, producer, providers, metrics, log, clock,
        preflight: config.PREFLIGHT, concurrency: config.WORKER_CONCURRENCY, lockDurationMs: config.JOB_LOCK_DURATION,
        jobTimeoutMs: config.PROVIDER_TIMEOUT * 4, deadlineMarginMs: config.DEADLINE_MARGIN, notifications,
      })
    : [];
  if (workers.length > 0) await producer.scheduleReconcile(config.RECONCILE_TICK);
  const workerActivity = workers.length > 0
    ? createWorkerActivity({ queues: producer.queues(), stallMs: config.READINESS_STALL, clock, log })
    : undefined;
  for (const w of workers) workerActivity?.watch(w);
  const redisErrors = throttledErrorLog(log, 'queue connection error (Redis unreachable?)');
  for (const w of workers) w.on('error', redisErrors(`worker:${w.name}`));
  for (const q of producer.queues()) q.on('error', redisErrors(`queue:${q.name}`));
  if (workerActivity) metrics.setSources({ workersConsuming: () => workerActivity.state() });

  let server: Server | undefined;
  let url: string | undefined;
  let opsUrl: string | undefined;
  if (opts.role !== 'worker') {
    const app = createApp({ store, commands, producer, providers, clock, apiTokens: config.API_TOKENS, escalationSlaMs: config.ESCALATION_SLA, metrics, log, redis, adminPassword: config.ADMIN_PASSWORD, workerActivity });
    server = await listen(app, config.PORT, config.HOST, { requestMs: config.REQUEST_TIMEOUT, headersMs: config.HEADERS_TIMEOUT });
    const port = (server.address() as AddressInfo).port;
    url = `http://127.0.0.1:${port}`;
    simulators?.setWebhookTarget(url);
  } else {
    // Worker-only: /healthz, /readyz and /metrics on PORT (provider-call and job metrics live here).
    // A taken port costs the endpoint, not the worker: consuming matters more than being scraped.
    server = await listen(opsApp({ redis, workerActivity, metrics, log }), config.PORT, config.HOST, { requestMs: config.REQUEST_TIMEOUT, headersMs: config.HEADERS_TIMEOUT }).catch((err: unknown) => {
      log.warn({ port: config.PORT, err: err instanceof Error ? err.message : String(err) }, 'worker ops endpoint (/healthz, /readyz, /metrics) not started');
      return undefined;
    });
    if (server) opsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /**
   * Graceful stop (SIGTERM): the api stops accepting connections and lets in-flight requests
   * finish; the workers stop fetching and let their running jobs finish; both within `graceMs`.
   * Jobs still running then are aborted and handed back to their queues (workers.ts) for another
   * worker, without burning an attempt; should even that fail (Redis away), they are left to
   * BullMQ's stalled-job recovery. Either way nothing acknowledged is lost.
   */
  async function close(graceMs = config.SHUTDOWN_GRACE): Promise<void> {
    workerActivity?.stop();
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), graceMs); });
    const httpDone = server ? closeServer(server, graceOver) : Promise.resolve();
    const workersDone = Promise.all(workers.map((w) => w.close())).then(() => 'done' as const);
    if ((await Promise.race([workersDone, graceOver])) === 'timeout') {
      log.warn({ graceMs }, 'shutdown grace period over: returning running jobs to their queues');
      for (const w of workers) w.cancelAllJobs(SHUTDOWN_REASON);
      if ((await within(workersDone, HAND_BACK_MS)) === 'timeout') {
        // Redis is away: a worker's close waits on commands queued for Redis's return, and
        // ioredis strands those even on disconnect (ioredis#2197), so the close is not awaited.
        // The connections are cut so that nothing reconnects and runs on; jobs still marked
        // active are taken back by BullMQ's stalled-job check once a worker sees Redis again.
        log.warn({ handBackMs: HAND_BACK_MS }, 'workers did not stop (Redis unreachable?): disconnecting them, their jobs go to stalled-job recovery');
        workerRedis?.disconnect();
        for (const w of workers) void w.backend.blockingClient?.then((c) => c.disconnect(), () => undefined);
      }
    }
    await httpDone;
    clearTimeout(timer);
    await within(producer.close(), HAND_BACK_MS);
    await simulators?.close();
    redis.disconnect();
    workerRedis?.disconnect();
  }

  return { url, opsUrl, store, producer, metrics, providers, simulators, workers, workerActivity, close };
}

/** How long aborted jobs get to move back to their queues before the workers are closed by force. */
const HAND_BACK_MS = 5_000;

/** `p`, or 'timeout' once `ms` have passed (the timer does not hold the process open). */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  return Promise.race([p, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref())]);
}

/** Stops accepting connections; in-flight requests get until `graceOver`, then are cut. */
async function closeServer(s: Server, graceOver: Promise<unknown>): Promise<void> {
  const closed = new Promise<void>((r) => s.close(() => r()));
  s.closeIdleConnections();
  await Promise.race([closed, graceOver]);
  s.closeAllConnections();
}

function reasonMapper(config: Config) {
  if (!config.REASON_MAP_FILE) return createReasonMapper(DEFAULT_REASON_RULES);
  const rules = ReasonRulesFileSchema.parse(JSON.parse(readFileSync(config.REASON_MAP_FILE, 'utf8')));
  return createReasonMapper(rules);
}

function listen(app: ReturnType<typeof createApp>, port: number, host: string, timeouts: { requestMs: number; headersMs: number }): Promise<Server> {
  // Slow clients are cut off (408, connection closed): the headers within headersMs, the whole
  // request within requestMs. Node checks both only every connectionsCheckingInterval (30 s by
  // default), so check often enough for short values to hold.
  const server = createServer({
    requestTimeout: timeouts.requestMs,
    headersTimeout: timeouts.headersMs,
    connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(timeouts.headersMs / 4))),
    keepAliveTimeout: 5_000,
  }, app);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
