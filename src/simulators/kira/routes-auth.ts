/**
 * `POST /auth` (no /v1): `x-api-key` (checked by the gateway) + `{client_id, password}` →
 * an opaque Bearer token that expires after `tokenTtlSeconds` on the injected clock.
 */
import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { SimContext } from './context.js';
import { validate } from './validation.js';

const AuthBody = z.object({ client_id: z.string().min(1), password: z.string().min(1) });

export function authHandler(ctx: SimContext): RequestHandler {
  return (req, res) => {
    const v = validate(AuthBody, req.body);
    if (!v.ok) return void res.status(400).json(v.body);
    if (v.data.client_id !== ctx.clientId || v.data.password !== ctx.password) {
      res.status(401).json({ code: 'unauthorized', message: 'Invalid client credentials' });
      return;
    }
    res.json({
      message: 'Auth token',
      data: {
        access_token: ctx.state.issueToken(ctx.apiKey, ctx.tokenTtlSeconds),
        expires_in: ctx.tokenTtlSeconds,
        token_type: 'Bearer',
      },
    });
  };
}
