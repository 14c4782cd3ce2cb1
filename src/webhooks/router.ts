/**
 * POST /webhooks/:provider — a thin ingest path: raw bytes → verify the provider's signature →
 * parse → durable, deduplicated enqueue → 202. Nothing is acknowledged before Redis has it, and
 * the body is never logged (it carries personal data).
 */
import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ProviderAdapter, RawWebhook } from '../providers/provider-adapter.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { QueueUnavailableError, type Producer } from '../queue/producer.js';
import type { CaseStore } from '../store/case-store.js';
import { sendProblem } from '../http/respond.js';

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

export function webhookRouter(deps: WebhookDeps): Router {
  const router = express.Router();
  const raw = express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT });
  router.post('/webhooks/:provider', (req, res, next) => {
    if (!deps.providers.find(String(req.params.provider))) return sendProblem(res, 404, 'unknown provider');
    next();
  }, raw, async (req: Request, res: Response) => {
    const adapter = deps.providers.find(String(req.params.provider))!;
    const started = performance.now();
    const outcome = await ingest(adapter, req, res, deps);
    deps.metrics.webhooksReceived.inc({ provider: adapter.id, outcome });
    deps.metrics.webhookAck.observe({ provider: adapter.id }, (performance.now() - started) / 1000);
  });
  return router;
}

async function ingest(adapter: ProviderAdapter, req: Request, res: Response, deps: WebhookDeps): Promise<Outcome> {
  const now = deps.clock.now();
  const rawHook: RawWebhook = { body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), headers: req.headers };
  const verdict = adapter.verifyWebhook(rawHook, now);
  if (!verdict.ok) {
    sendProblem(res, 401, verdict.reason === 'stale' ? 'signature timestamp outside the tolerance' : 'missing or invalid signature');
    return verdict.reason === 'stale' ? 'stale' : 'bad_signature';
  }
  let body: unknown;
  try {
    body = JSON.parse(rawHook.body.toString('utf8'));
  } catch {
    sendProblem(res, 400, 'body is not valid JSON');
    return 'malformed';
  }
  const parsed = adapter.parseWebhook(body, rawHook, now);
  try {
    switch (parsed.kind) {
      case 'ignored':
        res.status(202).json({ received: true, ignored: parsed.type });
        return 'unknown_event';
      case 'unusable':
        // Signed by the provider but not something we can act on: keep it for inspection.
        await deps.store.keepUnusableWebhook({ provider: adapter.id, problem: parsed.problem, eventId: parsed.eventId, receivedAt: now.toISOString(), body: rawHook.body.toString('utf8') });
        deps.log.warn({ provider: adapter.id, eventId: parsed.eventId, problem: parsed.problem }, 'signed webhook kept for inspection');
        res.status(202).json({ received: true, kept: true });
        return 'malformed';
      case 'event': {
        const result = await deps.producer.enqueueEvent(parsed.event);
        res.status(202).json({ received: true, duplicate: result === 'duplicate' });
        return result;
      }
    }
  } catch (err) {
    const unavailable = err instanceof QueueUnavailableError || isRedisError(err);
    deps.log.error({ provider: adapter.id, err: err instanceof Error ? err.message : 'error' }, 'webhook not stored');
    sendProblem(res, 503, unavailable ? 'event store unavailable; retry later' : 'could not store the event; retry later');
    return 'unavailable';
  }
}

function isRedisError(err: unknown): boolean {
  return err instanceof Error && /redis|stream isn't writeable|connection|ECONNREFUSED/i.test(err.message);
}
