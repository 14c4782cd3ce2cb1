/**
 * The headers a header-only middleware (helmet, via securityHeaders) sets on an answer to `path`,
 * captured once by running it against a recording response. For the webhook fast path, which
 * skips express (app.ts) yet must answer with exactly the security headers every other answer
 * carries. Only valid for middleware whose headers do not depend on the request beyond its path
 * (helmet's do not: no nonces are configured); it must call next() synchronously, else this throws.
 */
import type { Request, RequestHandler, Response } from 'express';

export type HeaderList = readonly (readonly [string, string | number | readonly string[]])[];

export function capturedHeaders(middleware: RequestHandler, path: string): HeaderList {
  const headers = new Map<string, string | number | readonly string[]>();
  const res = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers.set(name.toLowerCase(), value);
      return res;
    },
    removeHeader(name: string) {
      headers.delete(name.toLowerCase());
    },
    getHeader: (name: string) => headers.get(name.toLowerCase()),
    hasHeader: (name: string) => headers.has(name.toLowerCase()),
  };
  let called = false;
  let failed: unknown;
  const req = { method: 'POST', path, url: path, originalUrl: path, headers: {} };
  void middleware(req as unknown as Request, res as unknown as Response, (err?: unknown) => {
    called = true;
    failed = err;
  });
  if (!called || failed !== undefined) throw new Error(`header middleware did not pass ${path} through synchronously`);
  return [...headers.entries()];
}
