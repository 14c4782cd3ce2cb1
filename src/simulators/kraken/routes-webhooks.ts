/**
 * Webhook management (PROVIDERS.md §1.8, rule 6): `POST /b2b/webhooks` registers `{url, enabled?,
 * events?}` (disabled and unsubscribed by default) and returns the base64 secret once;
 * `GET /b2b/webhooks` lists registrations (never the secret); `PATCH /b2b/webhooks/{id}` sets
 * `enabled` and replaces the subscriptions; `DELETE` removes one; `POST /b2b/webhooks/{id}/test`
 * delivers `webhook.test` to it once. A URL registered twice → 409 `ENexus:Webhook already exists`.
 * The get/update/delete paths are [INF] for Embed (Payward Services documents the PATCH).
 *
 * Every registration gets the simulator's current signing secret (`webhookSecrets[0]`), so the
 * service configured with the same `KRAKEN_WEBHOOK_SECRETS` verifies what it receives.
 */
import { Router, type Request, type Response } from 'express';
import type { SimContext } from './context.js';
import { rawBody } from './gateway.js';
import type { KrakenWebhookRegistration } from './types.js';
import {
  AVAILABLE_EVENTS,
  CreateWebhookSchema,
  krakenError,
  UpdateWebhookSchema,
  validate,
} from './validation.js';

export const CONTROL_WEBHOOK_ID = 'WHSIM-KRAKN-000001';
/** The events the control registration (`setWebhookUrl`) subscribes to. */
export const USER_EVENTS = ['user.verified', 'user.disabled', 'user.closed'];

const view = (r: KrakenWebhookRegistration) => ({
  ...r,
  subscribed_events: [...r.subscribed_events],
  available_events: [...AVAILABLE_EVENTS],
});

function json(req: Request): unknown {
  try {
    return JSON.parse(rawBody(req).toString('utf8') || 'null') as unknown;
  } catch {
    return undefined;
  }
}

function find(ctx: SimContext, req: Request, res: Response): KrakenWebhookRegistration | undefined {
  const r = ctx.state.webhooks.get(String(req.params.id));
  if (!r) res.status(404).json(krakenError('ENexus:Webhook not found'));
  return r;
}

/** Registers or re-points the control registration: enabled, subscribed to the user events. */
export function registerControlWebhook(ctx: SimContext, url: string): void {
  const at = ctx.state.nowIso();
  const existing = ctx.state.webhooks.get(CONTROL_WEBHOOK_ID);
  ctx.state.webhooks.set(CONTROL_WEBHOOK_ID, {
    id: CONTROL_WEBHOOK_ID,
    url,
    enabled: true,
    subscribed_events: [...USER_EVENTS],
    created_at: existing?.created_at ?? at,
    updated_at: at,
  });
}

function create(ctx: SimContext, req: Request, res: Response): void {
  const v = validate(CreateWebhookSchema, json(req));
  if (!v.ok) return void res.status(400).json(v.body);
  if ([...ctx.state.webhooks.values()].some((r) => r.url === v.data.url)) {
    return void res.status(409).json(krakenError('ENexus:Webhook already exists'));
  }
  const at = ctx.state.nowIso();
  const reg: KrakenWebhookRegistration = {
    id: ctx.state.newId('WHSIM'),
    url: v.data.url,
    enabled: v.data.enabled ?? false,
    subscribed_events: [...new Set(v.data.events ?? [])],
    created_at: at,
    updated_at: at,
  };
  ctx.state.webhooks.set(reg.id, reg);
  res.json({ result: { webhook: view(reg), secret: ctx.webhookSecret() } });
}

function update(ctx: SimContext, req: Request, res: Response): void {
  const reg = find(ctx, req, res);
  if (!reg) return;
  const v = validate(UpdateWebhookSchema, json(req));
  if (!v.ok) return void res.status(400).json(v.body);
  if (v.data.enabled !== undefined) reg.enabled = v.data.enabled;
  if (v.data.events !== undefined) reg.subscribed_events = [...new Set(v.data.events)];
  reg.updated_at = ctx.state.nowIso();
  res.json({ result: { webhook: view(reg) } });
}

async function test(ctx: SimContext, req: Request, res: Response): Promise<void> {
  const reg = find(ctx, req, res);
  if (!reg) return;
  const t = await ctx.webhooks.test(reg);
  const ok = t.httpStatus !== undefined && t.httpStatus >= 200 && t.httpStatus < 300;
  res.json({
    result: {
      result: ok ? 'success' : 'failure',
      test_id: t.testId,
      payload_sent: t.payloadSent,
      signature_header: t.signatureHeader,
      http_status: t.httpStatus ?? null,
      response_body: t.responseBody ?? null,
      error_message: t.errorMessage ?? null,
    },
  });
}

export function webhooksRouter(ctx: SimContext): Router {
  const r = Router();
  r.post('/', (req, res) => create(ctx, req, res));
  r.get('/', (_req, res) => {
    res.json({ result: { webhooks: [...ctx.state.webhooks.values()].map(view) } });
  });
  r.patch('/:id', (req, res) => update(ctx, req, res));
  r.delete('/:id', (req, res) => {
    if (!find(ctx, req, res)) return;
    ctx.state.webhooks.delete(String(req.params.id));
    res.json({ result: 'success' });
  });
  r.post('/:id/test', (req, res, next) => {
    test(ctx, req, res).catch(next);
  });
  return r;
}
