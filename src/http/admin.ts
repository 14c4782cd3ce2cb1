/**
 * The queue UI: bull-board at `/admin/queues`, behind HTTP basic auth (user `admin`, password
 * ADMIN_PASSWORD). Without a password it is not mounted at all, and one log line says so.
 * Job data on our queues holds case ids and provider references only (never applicant data),
 * so the UI shows nothing personal.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { sendProblem } from './respond.js';

export const ADMIN_PATH = '/admin/queues';
export const ADMIN_USER = 'admin';

export interface AdminDeps {
  queues: readonly Queue[];
  /** ADMIN_PASSWORD; undefined disables the UI. */
  password: string | undefined;
  log: Logger;
}

/** The router serving the queue UI, or undefined (logged) when no password is configured. */
export function adminRouter(deps: AdminDeps): Router | undefined {
  if (!deps.password) {
    deps.log.info({ path: ADMIN_PATH }, 'queue UI disabled: set ADMIN_PASSWORD to serve bull-board at /admin/queues');
    return undefined;
  }
  const serverAdapter = new ExpressAdapter().setBasePath(ADMIN_PATH);
  createBullBoard({
    queues: deps.queues.map((q) => new BullMQAdapter(q)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'kyc-orchestrator' } },
  });
  const router = express.Router();
  router.use(ADMIN_PATH, basicAuth(deps.password), serverAdapter.getRouter() as Router);
  return router;
}

/** Basic auth with a constant-time comparison (of digests, so lengths leak nothing either). */
export function basicAuth(password: string) {
  const expected = digest(`${ADMIN_USER}:${password}`);
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = req.headers.authorization ?? '';
    const m = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header);
    const given = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    if (m && timingSafeEqual(digest(given), expected)) return next();
    res.set('www-authenticate', 'Basic realm="kyc-orchestrator admin", charset="UTF-8"');
    sendProblem(res, 401, 'the queue UI needs basic auth'); // -> 401
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
