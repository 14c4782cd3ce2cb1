/**
 * Assembles the Kira simulator: express app (gateway → auth → routes), HTTP server on
 * 127.0.0.1:0 by default, and the control surface tests and `npm start` use.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { createSimContext, type SimContext } from './context.js';
import {
  gatewayRoutes,
  injectedFaults,
  injectedLatency,
  rateLimit,
  recordRequests,
  requireApiKey,
  requireBearer,
} from './gateway.js';
import { authHandler } from './routes-auth.js';
import { simRouter } from './routes-sim.js';
import { usersRouter } from './routes-users.js';
import { schemaError } from './validation.js';
import type { KiraSimulator, KiraSimulatorOptions, SimUser } from './types.js';

const BODY_LIMIT = '10mb';

function errorHandler(ctx: SimContext): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    const type = (err as { type?: unknown } | null)?.type;
    if (type === 'entity.parse.failed') {
      res
        .status(400)
        .json(schemaError([{ path: '', message: 'Malformed JSON body', code: 'invalid_json' }]));
    } else if (type === 'entity.too.large') {
      res.status(413).json({ message: 'Request Too Long' });
    } else {
      ctx.logger?.warn({ err }, 'kira simulator: unhandled error');
      res.status(500).json({ message: 'Internal server error' });
    }
  };
}

function createApp(ctx: SimContext, snapshot: () => SimUser[]): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use('/_sim', express.json(), simRouter(ctx, snapshot));
  app.use(recordRequests(ctx));
  app.use(gatewayRoutes());
  app.use(injectedLatency(ctx));
  app.use(rateLimit(ctx));
  app.use(injectedFaults(ctx));
  app.use(requireApiKey(ctx));
  app.use(express.json({ limit: BODY_LIMIT }));
  app.post('/auth', authHandler(ctx));
  app.use(requireBearer(ctx));
  app.use('/v1/users', usersRouter(ctx));
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

export async function startKiraSimulator(opts: KiraSimulatorOptions): Promise<KiraSimulator> {
  const ctx = createSimContext(opts);
  const snapshot = (): SimUser[] => [...ctx.state.users.values()].map((u) => structuredClone(u));
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
        // Hung requests (timeout faults) and keep-alive sockets would hold close() forever.
        server.closeAllConnections();
      });
      return closing;
    },
    setWebhookUrl: (url) => ctx.webhooks.setUrl(url),
    setFaults: (f) => ctx.setFaults(f),
    rotateSecret: (newSecret, overlapMs = 60_000) =>
      ctx.webhooks.rotateSecret(newSecret, overlapMs),
    users: snapshot,
    requests: () => ctx.state.requests.map((r) => ({ ...r })),
    deliveries: () => ctx.state.deliveries.map((d) => ({ ...d })),
    flip(userId, status, reasons) {
      const user = ctx.state.users.get(userId);
      if (!user) throw new Error(`kira simulator: no user ${userId}`);
      ctx.outcomes.flip(user, status, reasons);
    },
    idle: () => ctx.tasks.idle(),
  };
}
