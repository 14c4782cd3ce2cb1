/**
 * Puts a circuit breaker in front of a provider adapter's outbound calls (create, get, remediate).
 * A call the circuit refuses is never made and surfaces as a rate limit, so the worker pauses the
 * provider's queue for the remaining cool-down and the job burns no attempt. What counts against
 * the provider is decided here, from the one error classification (errors.ts): only retryable
 * failures (5xx, 408, timeouts, network errors); a 4xx shows the provider is up, a 429 is the
 * rate limiter's business, and a call we aborted ourselves (shutdown) says nothing.
 */
import type { CallOutcome, CircuitBreaker } from '../lib/circuit.js';
import { PermanentError, RateLimitedError, RetryableError } from './errors.js';
import type { ProviderAdapter } from './provider-adapter.js';

/**
 * The provider's circuit is open (or its single half-open probe is in flight): retry after
 * `retryAfterMs`. A RateLimitedError on purpose (its `name` included), so every path that waits
 * out a 429 without burning an attempt (provider-call.ts, the worker wrapper) does the same here.
 */
export class CircuitOpenError extends RateLimitedError {
  constructor(readonly provider: string, retryAfterMs: number) {
    super(retryAfterMs);
    this.message = `${provider} circuit open; calls resume in ${retryAfterMs} ms`;
  }
}

/** What a finished call tells the breaker about the provider's health. */
export function circuitOutcome(err: unknown, signal?: AbortSignal): CallOutcome {
  if (signal?.aborted) return 'neutral';
  if (err instanceof RetryableError) return 'failure';
  if (err instanceof PermanentError) return 'success';
  return 'neutral';
}

/** The adapter with every outbound call admitted by `breaker`; webhook handling passes through. */
export function withCircuitBreaker(adapter: ProviderAdapter, breaker: CircuitBreaker): ProviderAdapter {
  async function guarded<T>(signal: AbortSignal, call: () => Promise<T>): Promise<T> {
    const admission = await breaker.admit();
    if (!admission.ok) throw new CircuitOpenError(adapter.id, admission.waitMs);
    try {
      const result = await call();
      await breaker.record(admission.ticket, 'success');
      return result;
    } catch (err) {
      await breaker.record(admission.ticket, circuitOutcome(err, signal));
      throw err;
    }
  }
  return {
    id: adapter.id,
    rateLimit: adapter.rateLimit,
    webhooks: adapter.webhooks,
    preflight: (a) => adapter.preflight(a),
    createUser: (a, ctx) => guarded(ctx.signal, () => adapter.createUser(a, ctx)),
    getUser: (id, ctx) => guarded(ctx.signal, () => adapter.getUser(id, ctx)),
    remediate: (input, ctx) => guarded(ctx.signal, () => adapter.remediate(input, ctx)),
    verifyWebhook: (raw, now) => adapter.verifyWebhook(raw, now),
    parseWebhook: (body, raw, receivedAt) => adapter.parseWebhook(body, raw, receivedAt),
  };
}
