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
