/**
 * The HTTP application: webhooks (raw bodies, registered before any JSON parser), the partner
 * API, metrics and health. Composition only; behaviour lives in the routers.
 */
import express, { type Express } from 'express';
import type { Redis } from 'ioredis';
import { pinoHttp } from 'pino-http';
import type { Logger } from 'pino';
import { buildOpenApi } from './api/openapi.js';
import { apiRouter, type ApiDeps } from './api/router.js';
import { adminRouter } from './http/admin.js';
import { errorHandler, notFound } from './http/errors.js';
import { healthRouter } from './http/health.js';
import type { Metrics } from './metrics/metrics.js';
import type { WorkerActivity } from './metrics/worker-activity.js';
import { webhookRouter, type WebhookDeps } from './webhooks/router.js';

export interface AppDeps extends ApiDeps, WebhookDeps {
  redis: Redis;
  metrics: Metrics;
  log: Logger;
  /** Basic-auth password of the queue UI at /admin/queues; unset → not mounted. */
  adminPassword?: string;
  /** Set when this process also runs workers: readiness then includes "workers consuming". */
  workerActivity?: WorkerActivity;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(
    pinoHttp({
      logger: deps.log,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : crypto.randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, path: req.url.split('?')[0] }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
    }),
  );
  app.use(healthRouter(deps));
  const openapi = JSON.stringify(buildOpenApi());
  app.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openapi);
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  const admin = adminRouter({ queues: deps.producer.queues(), password: deps.adminPassword, log: deps.log });
  if (admin) app.use(admin);
  app.use(webhookRouter(deps));
  app.use(apiRouter(deps));
  app.use(notFound);
  app.use(errorHandler(deps.log));
  return app;
}
