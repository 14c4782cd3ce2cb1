/**
 * `POST /oauth/token`, as Auth0 answers client-credentials requests (JSON or form body):
 * `{access_token, token_type: "Bearer", expires_in, scope}`; errors `{error, error_description}`.
 */
import type { RequestHandler, Response } from 'express';
import type { SimContext } from './context.js';

const auth0Error = (res: Response, status: number, error: string, description: string): void => {
  res.status(status).json({ error, error_description: description });
};

export function tokenHandler(ctx: SimContext): RequestHandler {
  return (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const str = (k: string): string | undefined =>
      typeof body[k] === 'string' ? body[k] : undefined;
    const grant = str('grant_type');
    if (!grant) {
      return auth0Error(res, 400, 'invalid_request', 'Missing required parameter: grant_type');
    }
    if (grant !== 'client_credentials') {
      return auth0Error(res, 400, 'unsupported_grant_type', 'Unsupported grant type');
    }
    if (str('client_id') !== ctx.clientId || str('client_secret') !== ctx.clientSecret) {
      return auth0Error(res, 401, 'access_denied', 'Unauthorized');
    }
    const audience = str('audience');
    if (!audience) {
      return auth0Error(
        res,
        403,
        'access_denied',
        'No audience parameter was provided, and no default audience has been configured',
      );
    }
    if (audience !== ctx.audience) {
      return auth0Error(res, 403, 'access_denied', 'Service not enabled within domain');
    }
    const requested = str('scope')?.split(/\s+/).filter(Boolean);
    const missing = (requested ?? []).filter((s) => !ctx.grantedScopes.includes(s));
    if (missing.length > 0) {
      return auth0Error(
        res,
        403,
        'access_denied',
        `Client has not been granted scopes: ${missing.join(' ')}`,
      );
    }
    const scopes = requested ?? ctx.grantedScopes;
    const accessToken = ctx.state.issueToken({
      clientId: ctx.clientId,
      audience,
      scopes,
      ttlSeconds: ctx.tokenTtlSeconds,
    });
    res.json({
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: ctx.tokenTtlSeconds,
      scope: scopes.join(' '),
    });
  };
}
