/**
 * Security headers (helmet) on every answer: nosniff, no framing, no referrer, HSTS, no
 * cross-origin reads, and a Content-Security-Policy.
 *
 * Two policies, because two kinds of client:
 * - the API, webhooks, health and metrics answer JSON or text to programs, never a page: the
 *   strictest policy (`default-src 'none'`), so a response rendered by a browser by mistake can
 *   load and run nothing;
 * - the queue UI (bull-board, /admin/queues) is a page: helmet's defaults, which allow what it
 *   loads (its own scripts and styles, inline styles, Google Fonts over https), without
 *   `upgrade-insecure-requests`, which would send its asset requests to https:// on a
 *   deployment that serves it over plain http on a private port.
 */
import type { RequestHandler } from 'express';
import helmet from 'helmet';

export function securityHeaders(opts: { uiPath: string }): RequestHandler {
  const api = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    frameguard: { action: 'deny' },
  });
  const ui = helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } });
  const isUi = (path: string): boolean => path === opts.uiPath || path.startsWith(`${opts.uiPath}/`);
  return (req, res, next) => (isUi(req.path) ? ui : api)(req, res, next);
}
