/**
 * `POST /auth` (no /v1): `x-api-key` (checked by the gateway) + `{client_id, password}` →
 * an opaque Bearer token that expires after `tokenTtlSeconds` on the injected clock.
 */
import { z } from 'zod';
import type { SimContext } from './context.js';
import { send, type SimRequest } from './http.js';
import { validate } from './validation.js';

const AuthBody = z.object({ client_id: z.string().min(1), password: z.string().min(1) });

export function authenticate(ctx: SimContext, r: SimRequest): void {
  const v = validate(AuthBody, r.body);
  if (!v.ok) return send(r, 400, v.body);
  if (v.data.client_id !== ctx.clientId || v.data.password !== ctx.password) {
    return send(r, 401, { code: 'unauthorized', message: 'Invalid client credentials' });
  }
  send(r, 200, {
    message: 'Auth token',
    data: {
      access_token: ctx.state.issueToken(ctx.apiKey, ctx.tokenTtlSeconds),
      expires_in: ctx.tokenTtlSeconds,
      token_type: 'Bearer',
    },
  });
}
