/**
 * One delivery attempt of one notification: POST the stored bytes, signed for this attempt.
 * Redirects are not followed (a webhook POST must reach the configured URL, not wherever a 3xx
 * points), and the response body is never read beyond draining it.
 */
import { deadlineSignal } from '../lib/abort.js';
import { signedHeaders } from './signing.js';

export interface DeliveryTarget {
  url: string;
  /** Key bytes of the `whsec_` secret (see `secretKey`). */
  key: Buffer;
  timeoutMs: number;
  fetch: typeof fetch;
}

export type DeliveryResult =
  | { ok: true; status: number } // 2xx: delivered
  | { ok: false; gone: true; status: 410; error: string } // 410 Gone: the partner asks us to stop
  | { ok: false; gone: false; status?: number; error: string }; // anything else: retry later

export async function deliver(
  target: DeliveryTarget,
  n: { id: string; body: string },
  at: Date,
  signal?: AbortSignal,
): Promise<DeliveryResult> {
  const deadline = deadlineSignal(target.timeoutMs, signal);
  try {
    const res = await target.fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'kyc-orchestrator', ...signedHeaders(target.key, n.id, n.body, at) },
      body: n.body,
      redirect: 'manual',
      signal: deadline.signal,
    });
    await res.body?.cancel().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
    if (res.status === 410) return { ok: false, gone: true, status: 410, error: 'HTTP 410 Gone' };
    return { ok: false, gone: false, status: res.status, error: `HTTP ${res.status}` };
  } catch (err) {
    return { ok: false, gone: false, error: describe(err, target.timeoutMs) };
  } finally {
    deadline.clear();
  }
}

function describe(err: unknown, timeoutMs: number): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const cause = err.cause instanceof Error ? `: ${(err.cause as NodeJS.ErrnoException).code ?? err.cause.message}` : '';
  return `${err.message}${cause}`;
}
