/**
 * What a provider-queue processor does with a provider error: permanent problems become case
 * inputs (escalation with the provider's field details), retryable ones are rethrown for BullMQ
 * to retry, until the last attempt, when they too become a case input instead of a lost job.
 */
import type { Reason } from '../kyc/types.js';
import { PermanentError, RateLimitedError, RetryableError, type FieldProblem } from '../providers/errors.js';
import { isLastAttempt, type JobLike } from './job-context.js';

export type ProviderFailure = { reason: Reason; errors?: FieldProblem[] };

/** Returns the failure to record on the case, or rethrows for a retry. */
export function settleProviderError(err: unknown, job: JobLike, provider: string): ProviderFailure {
  if (err instanceof PermanentError) {
    return {
      reason: { code: 'provider_error', providerText: `${provider} refused the request (${err.status ?? 'no status'}): ${err.message}` },
      errors: err.details.length > 0 ? err.details : undefined,
    };
  }
  if (err instanceof RateLimitedError) throw err; // the worker rate-limits the queue; no attempt is burnt
  if (err instanceof RetryableError && isLastAttempt(job)) {
    return { reason: { code: 'provider_error', providerText: `${provider} unavailable after ${job.attemptsMade + 1} attempts: ${err.message}` } };
  }
  throw err;
}
