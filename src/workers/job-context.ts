/** The slice of a BullMQ job a processor needs: processors stay testable without BullMQ. */
export interface JobLike {
  id?: string;
  name: string;
  data: unknown;
  attemptsMade: number;
  opts: { attempts?: number };
}

/** True when this run is the job's last allowed attempt. */
export function isLastAttempt(job: JobLike): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/**
 * The abort reason a worker gives its running jobs when the shutdown grace period is over
 * (`worker.cancelAllJobs`). A job aborted for it is returned to its queue, not failed: the work is
 * unfinished, not refused, and every step is safe to run again.
 */
export const SHUTDOWN_REASON = 'shutdown: grace period over';

export function abortedForShutdown(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && signal.reason === SHUTDOWN_REASON;
}
