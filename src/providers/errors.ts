/**
 * Provider call errors, and the one function that decides what is retryable.
 * Workers map these to BullMQ behaviour (retry with backoff, rate-limit the queue, or give up).
 */

/** Network error, timeout, 5xx, 408: try again with exponential backoff and jitter. */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
  constructor(message: string, readonly status?: number, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** 429: wait `retryAfterMs`, rate-limit the queue, and do not burn an attempt. */
export class RateLimitedError extends Error {
  override readonly name = 'RateLimitedError';
  constructor(readonly retryAfterMs: number, options?: { cause?: unknown }) {
    super(`rate limited; retry after ${retryAfterMs} ms`, options);
  }
}

export interface FieldProblem {
  field?: string;
  message: string;
}

/** 400/401/403/404/422 and anything else a retry cannot fix. Carries the provider's field details. */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly details: FieldProblem[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type ProviderCallError = RetryableError | RateLimitedError | PermanentError;

const DEFAULT_RETRY_AFTER_MS = 1_000;
const MAX_RETRY_AFTER_MS = 60_000;

/** Parses `Retry-After` (seconds or HTTP date) into milliseconds, bounded to [0, 60 s]. */
export function parseRetryAfter(value: string | null, now: Date): number {
  const v = value?.trim();
  if (!v) return DEFAULT_RETRY_AFTER_MS;
  let ms: number;
  if (/^-?\d+(\.\d+)?$/.test(v)) ms = Number(v) * 1000;
  else if (/GMT$/.test(v)) ms = Date.parse(v) - now.getTime(); // HTTP-date (IMF-fixdate)
  else return DEFAULT_RETRY_AFTER_MS;
  if (!Number.isFinite(ms)) return DEFAULT_RETRY_AFTER_MS;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Math.round(ms)));
}

/**
 * Classifies a non-2xx provider answer. The single place that decides retryability by status.
 * A 409 comes out permanent: an adapter that knows a conflict is recoverable for its API (a reused
 * idempotency key, a duplicate external id) handles it before calling this.
 */
export function classifyStatus(
  status: number,
  opts: { retryAfter: string | null; now: Date; message: string; details?: FieldProblem[] },
): ProviderCallError {
  if (status === 429) return new RateLimitedError(parseRetryAfter(opts.retryAfter, opts.now));
  if (status === 408 || status >= 500) return new RetryableError(opts.message, status);
  return new PermanentError(opts.message, status, opts.details ?? []);
}

/** Classifies a thrown fetch error (network failure, abort/timeout) as retryable. */
export function classifyThrown(err: unknown): ProviderCallError {
  if (err instanceof RetryableError || err instanceof RateLimitedError || err instanceof PermanentError) return err;
  const msg = err instanceof Error ? `${err.name}: ${err.message}` : 'network error';
  return new RetryableError(`provider unreachable (${msg})`, undefined, { cause: err });
}
