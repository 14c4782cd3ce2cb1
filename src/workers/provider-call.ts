/**
 * What a provider-queue processor does with a provider error: permanent problems become case
 * inputs (escalation with the provider's field details), retryable ones are rethrown for BullMQ
 * to retry, until the last attempt, when they too become a case input instead of a lost job.
 */
import type { Reason } from '../kyc/types.js';
import { PermanentError, RateLimitedError, RetryableError, type FieldProblem } from '../providers/errors.js';
import { abortedForShutdown, isLastAttempt, type JobLike } from './job-context.js';

export type ProviderFailure = {
  reason: Reason;
  errors?: FieldProblem[];
  /**
   * The call may have taken effect at the provider although we never learnt its result: every
   * retry went unanswered (timeouts, 5xx, network), or the provider answered 409 (a conflict with
   * an earlier call) that the adapter could not resolve. A definitive refusal (any other 4xx, or a
   * call never sent) is false: nothing was done.
   */
  mayHaveCommitted: boolean;
};

/**
 * Returns the failure to record on the case, or rethrows for a retry. A call cut short by a
 * shutdown is never a verdict, even on the last attempt: it is rethrown and the job goes back to
 * its queue.
 */
export function settleProviderError(err: unknown, job: JobLike, provider: string, signal?: AbortSignal): ProviderFailure {
  if (abortedForShutdown(signal)) throw err;
  if (err instanceof PermanentError) {
    return {
      reason: { code: 'provider_error', providerText: `${provider} refused the request (${err.status ?? 'no status'}): ${err.message}` },
      errors: err.details.length > 0 ? err.details : undefined,
      mayHaveCommitted: err.status === 409,
    };
  }
  if (err instanceof RateLimitedError) throw err; // the worker rate-limits the queue; no attempt is burnt
  if (err instanceof RetryableError && isLastAttempt(job)) {
    return { reason: { code: 'provider_error', providerText: `${provider} unavailable after ${job.attemptsMade + 1} attempts: ${err.message}` }, mayHaveCommitted: true };
  }
  throw err;
}
