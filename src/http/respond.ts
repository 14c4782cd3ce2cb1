import type { ServerResponse } from 'node:http';
import type { Response } from 'express';
import { problem, type FieldError } from '../lib/problem.js';

/**
 * How much of a refused body is read off (and discarded) after the answer: the largest body any
 * route accepts (webhooks, 256 KB). Past that the connection is dropped.
 */
export const DISCARD_AT_MOST = 256 * 1024;

/**
 * A JSON answer written once on a plain Node response (the fast paths, the Kira simulator): an
 * object, or bytes already serialised; no express helpers, no ETag.
 */
export function writeJson(res: ServerResponse, status: number, body: Buffer | object, headers?: Record<string, string>): void {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': bytes.length }).end(bytes);
}

export function sendProblem(res: Response, status: number, detail?: string, errors?: FieldError[]): void {
  discardRest(res);
  res.status(status).type('application/problem+json').send(JSON.stringify(problem(status, detail, errors)));
}

/**
 * A request refused before its body was read whole (unauthenticated, unknown provider, over the
 * limit, wrong type...). Left alone, Node reads off the rest to reuse the connection, however large
 * the client says it is, or for as long as a chunked body goes on; closing the moment the answer
 * is out resets a client that is still sending, and it can lose the answer. So:
 * - a declared body of at most DISCARD_AT_MOST is read off and discarded; the connection stays;
 * - a larger or chunked one gets `Connection: close` and a lingering close: our side is shut
 *   after the answer (the client reads it, then the end of the stream) while what the client
 *   still sends is discarded, until it stops or DISCARD_AT_MOST more bytes came, then the
 *   connection is dropped. The request timeout bounds a slow sender.
 */
function discardRest(res: Response): void {
  const req = res.req as Response['req'] | undefined;
  if (!req || req.readableEnded || !announcesBody(req)) return;
  const socket = req.socket;
  let seen = 0;
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > DISCARD_AT_MOST) socket.destroy();
  });
  req.resume();
  if (Number(req.headers['content-length'] ?? NaN) <= DISCARD_AT_MOST) return;
  res.setHeader('connection', 'close');
  res.once('finish', () => {
    // Node has shut our side and would destroy the socket once that is flushed (destroySoon),
    // resetting a client still sending: destroy it when the client has finished instead.
    // eslint-disable-next-line @typescript-eslint/unbound-method -- the very listener destroySoon added
    socket.removeListener('finish', socket.destroy);
    if (req.readableEnded) socket.destroy();
    else req.once('end', () => socket.destroy());
  });
}

function announcesBody(req: Response['req']): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
}
