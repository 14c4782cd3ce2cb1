/**
 * The HTTP application: webhooks (raw bodies, registered before any JSON parser), the partner
 * API, metrics and health. Composition only; behaviour lives in the routers.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type ErrorRequestHandler, type Express, type Request, type Response } from 'express';
import type { RedisClient } from './queue/redis.js';
import type { Logger } from 'pino';
import { buildOpenApi } from './api/openapi.js';
import { onboardingFastPath } from './api/onboardings.js';
import { apiRouter, type ApiDeps } from './api/router.js';
import { ADMIN_PATH, adminRouter } from './http/admin.js';
import { errorHandler, notFound } from './http/errors.js';
import type { FastPathFallback } from './http/fast-path.js';
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
  const onError = errorHandler(deps.log);
  app.use(notFound);
  app.use(onError);
  return withFastPaths(app, deps, logRequest, capturedHeaders(security, FAST_HEADERS_PATH), onError);
}

/** Any path outside the queue UI: helmet's headers are the same for all of them. */
const FAST_HEADERS_PATH = '/webhooks/kira';

/**
 * Webhook POSTs and `POST /v1/onboardings` skip express (its per-request set-up costs more than
 * the work of either: see webhooks/router.ts, api/onboardings.ts) but get what every answer gets:
 * the request log line and id, and the security headers, captured once from the same middleware.
 * Everything else, and every error answer, is express's.
 */
function withFastPaths(app: Express, deps: AppDeps, logRequest: RequestLog, headers: HeaderList, onError: ErrorRequestHandler): RequestListener {
  // Errors are rare: answer them with express's response (as the routers do), set up here.
  const asExpress = (req: IncomingMessage, res: ServerResponse): Response => {
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
    Object.assign(req, { res });
    return res as Response;
  };
  const fallback: FastPathFallback = {
    prepare(req, res) {
      logRequest(req, res, () => undefined);
      for (const [name, value] of headers) res.setHeader(name, value);
    },
    problem: (req, res, status, detail, errors) => sendProblem(asExpress(req, res), status, detail, errors),
    fail: (req, res, err) => onError(err, req as Request, asExpress(req, res), () => undefined),
  };
  const fast = [webhookFastPath(deps, fallback), onboardingFastPath(deps, fallback)];
  return (req, res) => {
    for (const serve of fast) if (serve(req, res)) return;
    app(req, res);
  };
}
