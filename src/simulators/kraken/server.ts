/**
 * Assembles the Kraken Embed simulator: express app (gateway → auth → routes), HTTP server on
 * 127.0.0.1:0 by default, and the control surface tests and `npm start` use.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { createSimContext, type SimContext } from './context.js';
import {
  apiVersion,
  authenticate,
  injectedFaults,
  injectedLatency,
  knownRoutes,
  rateLimit,
  recordRequests,
} from './gateway.js';
import { simRouter } from './routes-sim.js';
import { usersRouter } from './routes-users.js';
import { verificationsRouter } from './routes-verifications.js';
import { registerControlWebhook, webhooksRouter } from './routes-webhooks.js';
import type { KrakenSimulator, KrakenSimulatorOptions, KrakenSimUser } from './types.js';
import { krakenError } from './validation.js';

const BODY_LIMIT = '1mb';

function errorHandler(ctx: SimContext): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    if ((err as { type?: unknown } | null)?.type === 'entity.too.large') {
      res.status(413).json(krakenError('EGeneral:Request too large'));
      return;
    }
    ctx.logger?.warn({ err }, 'kraken simulator: unhandled error');
    res.status(500).json(krakenError('EGeneral:Internal error'));
  };
}

function createApp(ctx: SimContext, snapshot: () => KrakenSimUser[]): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use('/_sim', express.json(), simRouter(ctx, snapshot));
  app.use(recordRequests(ctx));
  app.use(knownRoutes());
  app.use(injectedLatency(ctx));
  app.use(rateLimit(ctx));
  app.use(injectedFaults(ctx));
  // Raw bytes: the signature covers exactly what was sent, so nothing may re-serialise the body.
  app.use(express.raw({ type: () => true, limit: BODY_LIMIT }));
  app.use(authenticate(ctx));
  app.use(apiVersion());
  app.use('/b2b/users', usersRouter(ctx));
  app.use('/b2b/verifications', verificationsRouter(ctx));
  app.use('/b2b/webhooks', webhooksRouter(ctx));
  app.use(errorHandler(ctx));
  return app;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function startKrakenSimulator(opts: KrakenSimulatorOptions): Promise<KrakenSimulator> {
  const ctx = createSimContext(opts);
  if (opts.webhookUrl) registerControlWebhook(ctx, opts.webhookUrl);
  const snapshot = (): KrakenSimUser[] =>
    [...ctx.state.users.values()].map((u) => structuredClone(u));
  const server = createServer(createApp(ctx, snapshot));
  const host = opts.host ?? '127.0.0.1';
  const addr = await listen(server, opts.port ?? 0, host);
  const hostPart = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${hostPart}:${addr.port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        ctx.tasks.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
    setWebhookUrl: (url) => registerControlWebhook(ctx, url),
    webhooks: () => [...ctx.state.webhooks.values()].map((r) => structuredClone(r)),
    setFaults: (f) => ctx.setFaults(f),
    rotateSecret: (newSecret, overlapMs = 60_000) => ctx.rotateSecret(newSecret, overlapMs),
    users: snapshot,
    requests: () => ctx.state.requests.map((r) => ({ ...r })),
    deliveries: () => ctx.state.deliveries.map((d) => ({ ...d })),
    apply(iiban, outcome) {
      const user = ctx.state.users.get(iiban);
      if (!user) throw new Error(`kraken simulator: no user ${iiban}`);
      ctx.outcomes.apply(user, outcome);
    },
    sendTestWebhook: () => ctx.webhooks.testAll(),
    idle: () => ctx.tasks.idle(),
  };
}
