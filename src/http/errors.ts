import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { sendProblem } from './respond.js';

export const notFound: RequestHandler = (_req, res) => sendProblem(res, 404, 'no such route');

/**
 * Last-resort error handler: body-parser errors become the caller's 4xx; Redis outages 503;
 * anything else 500 with no detail (the stack goes to the log, never to the caller).
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const e = err as { status?: number; type?: string; message?: string };
    if (res.headersSent) return;
    if (e.type === 'entity.too.large') return sendProblem(res, 413, 'request body is larger than allowed');
    if (e.type === 'entity.parse.failed') return sendProblem(res, 400, 'body is not valid JSON');
    if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') return sendProblem(res, 415, 'unsupported body encoding');
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return sendProblem(res, e.status, 'the request could not be read');
    if (/stream isn't writeable|ECONNREFUSED|Connection is closed|Redis did not answer|Redis is unavailable/i.test(e.message ?? '')) {
      return sendProblem(res, 503, 'storage unavailable; retry later');
    }
    log.error({ err, method: req.method, path: req.route ? String((req.route as { path: string }).path) : 'unmatched' }, 'unhandled error');
    sendProblem(res, 500, 'internal error');
  };
}
