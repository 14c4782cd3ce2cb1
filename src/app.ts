/**
 * The HTTP application: webhooks (raw bodies, registered before any JSON parser), the partner
 * API, metrics and health. Composition only; behaviour lives in the routers.
 */
import type { RequestListener } from 'node:http';
import express, { type Express, type Response } from 'express';
import type { RedisClient } from './queue/redis.js';
import type { Logger } from 'pino';
import { buildOpenApi } from './api/openapi.js';
import { apiRouter, type ApiDeps } from './api/router.js';
import { ADMIN_PATH, adminRouter } from './http/admin.js';
import { errorHandler, notFound } from './http/errors.js';
import { healthRouter } from './http/health.js';
import { requestLog, type RequestLog } from './http/request-log.js';
import { sendProblem } from './http/respond.js';
import { capturedHeaders, type HeaderList } from './http/static-headers.js';
import { securityHeaders } from './http/security-headers.js';
import type { Metrics } from './metrics/metrics.js';
import type { WorkerActivity } from './metrics/worker-activity.js';
import { webhookFastPath, webhookRouter, type WebhookDeps } from './webhooks/router.js';

export interface AppDeps extends ApiDeps, WebhookDeps {
  redis: RedisClient;
  metrics: Metrics;
  log: Logger;
  /** Basic-auth password of the queue UI at /admin/queues; unset → not mounted. */
  adminPassword?: string;
  /** Set when this process also runs workers: readiness then includes "workers consuming". */
  workerActivity?: WorkerActivity;
}

export function createApp(deps: AppDeps): RequestListener {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  // One line per request and the request id (pino-http's format, without its per-request cost).
  const logRequest = requestLog(deps.log);
  const security = securityHeaders({ uiPath: ADMIN_PATH });
  app.use(logRequest);
  app.use(security);
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
  return withWebhookFastPath(app, deps, logRequest, capturedHeaders(security, WEBHOOK_PATH));
}

const WEBHOOK_PATH = '/webhooks/kira';

/**
 * Webhook POSTs skip express (its per-request set-up costs more than the ingest: see
 * webhooks/router.ts) but get what every answer gets: the request log line and id, and the
 * security headers, captured once from the same middleware. Everything else is express.
 */
function withWebhookFastPath(app: Express, deps: AppDeps, logRequest: RequestLog, headers: HeaderList): RequestListener {
  const webhooks = webhookFastPath(deps, {
    prepare(req, res) {
      logRequest(req, res, () => undefined);
      for (const [name, value] of headers) res.setHeader(name, value);
    },
    // Errors are rare: answer them with express's response (as the router does), set up here.
    problem(req, res, status, detail) {
      Object.setPrototypeOf(req, app.request);
      Object.setPrototypeOf(res, app.response);
      Object.assign(req, { res });
      sendProblem(res as Response, status, detail);
    },
  });
  return (req, res) => {
    if (!webhooks(req, res)) app(req, res);
  };
}
