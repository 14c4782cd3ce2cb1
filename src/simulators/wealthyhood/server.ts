/**
 * Assembles the Wealthyhood simulator: express app (gateway → token endpoint → protected routes),
 * HTTP server on 127.0.0.1:0 by default, and the control surface tests and `npm start` use.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { createSimContext, type SimContext } from './context.js';
import {
  injectedFaults,
  injectedLatency,
  rateLimit,
  recordRequests,
  routeKnown,
} from './gateway.js';
import { toResource } from './resource.js';
import { tokenHandler } from './routes-auth.js';
import { usersRouter } from './routes-users.js';
import type { SimUser, WealthyhoodSimulator, WealthyhoodSimulatorOptions } from './types.js';
import { validationError } from './validation.js';

const BODY_LIMIT = '1mb';

function errorHandler(ctx: SimContext): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    const type = (err as { type?: unknown } | null)?.type;
    if (type === 'entity.parse.failed') {
      res.status(400).json(validationError([{ field: 'body', message: 'Malformed JSON body' }]));
    } else if (type === 'entity.too.large') {
      res.status(413).json({ statusCode: 413, message: 'Payload Too Large' });
    } else {
      ctx.logger?.warn({ err }, 'wealthyhood simulator: unhandled error');
      res.status(500).json({ statusCode: 500, message: 'Internal server error' });
    }
  };
}

function createApp(ctx: SimContext): Express {
  const app = express();
  app.disable('x-powered-by');
  // Control route (no auth, not recorded): a dump of the users for `npm start` and benchmarks.
  app.get('/_sim/users', (_req, res) => {
    res.json({
      users: [...ctx.state.users.values()].map((u) => ({
        ...toResource(u, ctx.schema, 'get'),
        kycFailureReasons: u.kycFailureReasons,
      })),
    });
  });
  app.use(recordRequests(ctx));
  app.use(routeKnown(ctx));
  app.use(injectedLatency(ctx));
  app.use(rateLimit(ctx));
  app.use(injectedFaults(ctx));
  app.use(express.json({ limit: BODY_LIMIT }));
  app.use(express.urlencoded({ extended: false, limit: BODY_LIMIT }));
  app.post('/oauth/token', tokenHandler(ctx));
  app.use('/users', usersRouter(ctx));
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

export async function startWealthyhoodSimulator(
  opts: WealthyhoodSimulatorOptions,
): Promise<WealthyhoodSimulator> {
  const ctx = createSimContext(opts);
  const server = createServer(createApp(ctx));
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
    setFaults: (f) => ctx.setFaults(f),
    expireTokens: () => ctx.state.expireTokens(),
    users: (): SimUser[] => [...ctx.state.users.values()].map((u) => structuredClone(u)),
    requests: () => ctx.state.requests.map((r) => ({ ...r })),
    idle: () => ctx.tasks.idle(),
  };
}
