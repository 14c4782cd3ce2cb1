/**
 * Assembles the Kira simulator: the request pipeline (control routes, then gateway → auth →
 * routes) on a bare `node:http` server on 127.0.0.1:0 by default, and the control surface tests
 * and `npm start` use.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSimContext, type SimContext } from './context.js';
import {
  gatewayRoutes,
  injectedFaults,
  injectedLatency,
  rateLimit,
  recordRequest,
  requireApiKey,
  requireBearer,
} from './gateway.js';
import { parseLimit, readJson } from '../../http/body.js';
import { writeJson } from '../../http/respond.js';
import { send, simRequest, type SimRequest } from './http.js';
import { authenticate } from './routes-auth.js';
import { simRoute, usersSnapshot } from './routes-sim.js';
import { usersRoute } from './routes-users.js';
import { schemaError } from './validation.js';
import type { KiraSimulator, KiraSimulatorOptions, SimUser } from './types.js';

const BODY_LIMIT = parseLimit('10mb');

/**
 * Reads the JSON body into `r.body`; answers what Kira answers and returns false when it cannot:
 * 413 over the limit, 415 for a charset or encoding it does not take, else 400 (malformed).
 */
async function withBody(req: IncomingMessage, r: SimRequest): Promise<boolean> {
  const got = await readJson(req, BODY_LIMIT);
  if (got.ok) {
    r.body = got.value;
    return true;
  }
  if (got.status === 413) send(r, 413, { message: 'Request Too Long' });
  else if (got.status === 415) send(r, 415, { message: 'Unsupported Media Type' });
  else send(r, 400, schemaError([{ path: '', message: 'Malformed JSON body', code: 'invalid_json' }]));
  return false;
}

async function handle(ctx: SimContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const r = simRequest(req, res);
  const control = r.path.startsWith('/_sim/') ? simRoute(r) : undefined;
  if (control) {
    if (await withBody(req, r)) control(ctx, r);
    return;
  }
  recordRequest(ctx, r);
  if (gatewayRoutes(r)) return;
  if (!(await injectedLatency(ctx))) return;
  if (rateLimit(ctx, r) || injectedFaults(ctx, r) || requireApiKey(ctx, r)) return;
  if (!(await withBody(req, r))) return;
  if (r.path === '/auth' || r.path === '/auth/') return authenticate(ctx, r);
  if (requireBearer(ctx, r)) return;
  const route = usersRoute(r);
  if (route) route(ctx, r);
  else send(r, 404, { code: 'not_found', message: 'Not found' });
}

function handler(ctx: SimContext) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    handle(ctx, req, res).catch((err: unknown) => {
      ctx.logger?.warn({ err }, 'kira simulator: unhandled error');
      if (!res.headersSent) writeJson(res, 500, { message: 'Internal server error' });
    });
  };
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
  const snapshot = (): SimUser[] => usersSnapshot(ctx);
  const server = createServer(handler(ctx));
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
