/**
 * POST /webhooks/:provider — a thin ingest path: raw bytes → verify the provider's signature →
 * parse → durable, deduplicated enqueue → 202. Nothing is acknowledged before Redis has it, and
 * the body is never logged (it carries personal data).
 */
import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ParsedWebhook, ProviderAdapter, RawWebhook } from '../providers/provider-adapter.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { QueueUnavailableError, type Producer } from '../queue/producer.js';
import type { CaseStore } from '../store/case-store.js';
import type { IncomingMessage } from 'node:http';
import { hasBody, parseLimit, readBody } from '../http/body.js';
import { sendProblem, writeJson } from '../http/respond.js';
import type { FastPathFallback, FastRoute } from '../http/fast-path.js';

export const WEBHOOK_BODY_LIMIT = '256kb';

export interface WebhookDeps {
  providers: ProviderRegistry;
  producer: Producer;
  store: CaseStore;
  metrics: Metrics;
  clock: Clock;
  log: Logger;
}

type Outcome = 'accepted' | 'duplicate' | 'bad_signature' | 'stale' | 'malformed' | 'unknown_event' | 'unavailable';

const BODY_LIMIT = parseLimit(WEBHOOK_BODY_LIMIT);

export function webhookRouter(deps: WebhookDeps): Router {
  const router = express.Router();
  router.post('/webhooks/:provider', async (req: Request, res: Response) => {
    const adapter = deps.providers.find(String(req.params.provider));
    if (!adapter) return sendProblem(res, 404, 'unknown provider');
    await measured(adapter, deps, () => readAndIngest(adapter, req, expressReply(res), deps));
  });
  return router;
}

/**
 * Reads the raw body (not express.raw: it drains a body over the limit before answering 413, see
 * http/body.ts) and ingests it. The one body of both routes to the endpoint, so they count and
 * answer alike (a body refused by the limit is `malformed`).
 */
async function readAndIngest(adapter: ProviderAdapter, req: IncomingMessage, reply: Reply, deps: WebhookDeps): Promise<Outcome> {
  const read = hasBody(req) ? await readBody(req, BODY_LIMIT) : { ok: true as const, body: Buffer.alloc(0) };
  if (!read.ok) {
    reply.problem(read.status, read.detail);
    return 'malformed';
  }
  return ingest(adapter, { body: read.body, headers: req.headers }, reply, deps);
}

/**
 * The same endpoint as a plain Node request handler, for the hot path (see app.ts): express's own
 * work per request (prototype swaps, router, final handler) costs more than an ingest, so webhook
 * POSTs skip it. Serves only `POST /webhooks/<known provider>` spelt exactly so (optionally with a
 * query) and answers false for anything else, which express then serves with the router above;
 * both run `readAndIngest`, so the body limit, the answers and the metrics are the same. `prepare`
 * applies what the app applies to every request (request log, security headers); `problem`
 * answers an error.
 */
export function webhookFastPath(deps: WebhookDeps, t: FastPathFallback): FastRoute {
  return (req, res) => {
    const m = req.method === 'POST' ? FAST_PATH.exec(req.url ?? '') : null;
    const adapter = m ? deps.providers.find(m[1]!) : undefined;
    if (!adapter) return false;
    t.prepare(req, res);
    const reply: Reply = { problem: (status, detail) => t.problem(req, res, status, detail), json: (status, body) => writeJson(res, status, body) };
    void measured(adapter, deps, () => readAndIngest(adapter, req, reply, deps)).catch((err: unknown) => {
      deps.log.error({ provider: adapter.id, err: err instanceof Error ? err.message : 'error' }, 'webhook ingest failed');
      if (!res.headersSent) reply.problem(500, 'internal error');
    });
    return true;
  };
}

const FAST_PATH = /^\/webhooks\/([a-z][a-z0-9-]{0,31})(?:\?.*)?$/;

/** How ingest answers, whichever HTTP layer carries the request. */
interface Reply {
  problem(status: number, detail: string): void;
  /** A JSON answer: an object, or bytes already serialised. */
  json(status: number, body: Buffer | object): void;
}

function expressReply(res: Response): Reply {
  return { problem: (status, detail) => sendProblem(res, status, detail), json: (status, body) => writeJson(res, status, body) };
}

async function measured(adapter: ProviderAdapter, deps: WebhookDeps, run: () => Promise<Outcome>): Promise<void> {
  const started = performance.now();
  const outcome = await run();
  deps.metrics.webhooksReceived.inc({ provider: adapter.id, outcome });
  deps.metrics.webhookAck.observe({ provider: adapter.id }, (performance.now() - started) / 1000);
}

async function ingest(adapter: ProviderAdapter, rawHook: RawWebhook, reply: Reply, deps: WebhookDeps): Promise<Outcome> {
  const now = deps.clock.now();
  const verdict = adapter.verifyWebhook(rawHook, now);
  if (!verdict.ok) {
    reply.problem(401, verdict.reason === 'stale' ? 'signature timestamp outside the tolerance' : 'missing or invalid signature');
    return verdict.reason === 'stale' ? 'stale' : 'bad_signature';
  }
  let body: unknown;
  try {
    body = JSON.parse(rawHook.body.toString('utf8'));
  } catch {
    reply.problem(400, 'body is not valid JSON');
    return 'malformed';
  }
  const parsed = parseOrKeep(adapter, body, rawHook, now, deps.log);
  try {
    switch (parsed.kind) {
      case 'ignored':
        reply.json(202, { received: true, ignored: parsed.type });
        return 'unknown_event';
      case 'unusable':
        // Signed by the provider but not something we can act on: keep it for inspection.
        await deps.store.keepUnusableWebhook({ provider: adapter.id, problem: parsed.problem, eventId: parsed.eventId, receivedAt: now.toISOString(), body: rawHook.body.toString('utf8') });
        deps.log.warn({ provider: adapter.id, eventId: parsed.eventId, problem: parsed.problem }, 'signed webhook kept for inspection');
        reply.json(202, { received: true, kept: true });
        return 'malformed';
      case 'event': {
        const result = await deps.producer.enqueueEvent(parsed.event);
        reply.json(202, ACK[result]);
        return result;
      }
    }
  } catch (err) {
    const unavailable = err instanceof QueueUnavailableError || isRedisError(err);
    deps.log.error({ provider: adapter.id, err: err instanceof Error ? err.message : 'error' }, 'webhook not stored');
    reply.problem(503, unavailable ? 'event store unavailable; retry later' : 'could not store the event; retry later');
    return 'unavailable';
  }
}

/** The hot path's two answers, serialised once. */
const ACK = {
  accepted: Buffer.from(JSON.stringify({ received: true, duplicate: false })),
  duplicate: Buffer.from(JSON.stringify({ received: true, duplicate: true })),
};

/**
 * A parser that throws on a signed body is our bug, not the provider's (fuzzing found Kraken's
 * `event_type: "constructor"` doing it): keep the body for inspection and acknowledge it, as any
 * signed body we cannot use, instead of a 500 that Kraken would retry for 5 minutes and that
 * would lose a Kira event for good.
 */
function parseOrKeep(adapter: ProviderAdapter, body: unknown, raw: RawWebhook, now: Date, log: Logger): ParsedWebhook {
  try {
    return adapter.parseWebhook(body, raw, now);
  } catch (err) {
    log.error({ provider: adapter.id, err: err instanceof Error ? err.message : 'error' }, 'webhook parser failed on a signed body');
    return { kind: 'unusable', problem: 'the parser failed on this body' };
  }
}

function isRedisError(err: unknown): boolean {
  return err instanceof Error && /redis|stream isn't writeable|connection|ECONNREFUSED/i.test(err.message);
}
