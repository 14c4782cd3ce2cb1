/**
 * The two hot routes, `POST /webhooks/<provider>` and `POST /v1/onboardings`, are served as plain
 * Node handlers ahead of express (app.ts). This is what they get from the app: the treatment of
 * every request, and express's answers for everything but their success.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FieldError } from '../lib/problem.js';

export interface FastPathFallback {
  /** Applies what the app applies to every request (request log and id, security headers). */
  prepare(req: IncomingMessage, res: ServerResponse): void;
  problem(req: IncomingMessage, res: ServerResponse, status: number, detail: string, errors?: FieldError[]): void;
  /** An error thrown while answering: the app's error handler decides (503 for Redis, else 500). */
  fail(req: IncomingMessage, res: ServerResponse, err: unknown): void;
}

/** A fast route: serves the request and answers true, or answers false and leaves it to express. */
export type FastRoute = (req: IncomingMessage, res: ServerResponse) => boolean;
