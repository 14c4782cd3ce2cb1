/**
 * Liveness and readiness.
 * - `GET /healthz`: the process is alive and its event loop answers (no dependency is checked,
 *   so a Redis outage never gets a healthy process restarted).
 * - `GET /readyz`: Redis (on a cluster: every master) answers a PING within `pingTimeoutMs` AND, in a process that runs
 *   workers, every worker is consuming (see metrics/worker-activity.ts). An api-only process is
 *   ready when Redis is.
 * Also `opsApp`: the same routes plus `/metrics` for worker-only processes, which serve no API.
 */
import express, { type Express, type Router } from 'express';
import { pingRedis, type RedisClient } from '../queue/redis.js';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Metrics } from '../metrics/metrics.js';
import type { WorkerActivity } from '../metrics/worker-activity.js';
import { notFound } from './errors.js';

export interface HealthDeps {
  redis: RedisClient;
  /** Present in processes that run workers. */
  workerActivity?: WorkerActivity;
  pingTimeoutMs?: number;
}

export function healthRouter(deps: HealthDeps): Router {
  const router = express.Router();
  const timeoutMs = deps.pingTimeoutMs ?? 500;
  router.get('/healthz', (_req, res) => {
    res.set('cache-control', 'no-store').json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const redis = await redisAnswers(deps.redis, timeoutMs);
    const activity = deps.workerActivity;
    const workers = activity ? activity.consuming() : undefined;
    const ready = redis && workers !== false;
    res.set('cache-control', 'no-store').status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'unavailable', // -> 200 | 503
      redis,
      ...(activity ? { workers: workers ? 'consuming' : 'stalled', queues: activity.state() } : {}),
    });
  });
  return router;
}

async function redisAnswers(redis: RedisClient, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => { timer = setTimeout(() => r(false), timeoutMs); });
  try {
    return await Promise.race([pingRedis(redis).catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Health, readiness and metrics for a worker-only process (it has no API to mount them on). */
export function opsApp(deps: HealthDeps & { metrics: Metrics; log: Logger }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(pinoHttp({
    logger: deps.log,
    genReqId: (req) => (typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'].slice(0, 128) : crypto.randomUUID()),
    serializers: {
      req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, path: req.url.split('?')[0] }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    // Probes and scrapes arrive every few seconds: at debug, unless they fail.
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'warn' : 'debug'),
  }));
  app.use(healthRouter(deps));
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  app.use(notFound);
  return app;
}
