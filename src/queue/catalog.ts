/**
 * Queue names, job schemas (zod) and default job options: the contract between producers
 * (api, webhooks, workers) and processors. Queue names and job ids never contain ':'.
 */
import { z } from 'zod';
import type { JobsOptions } from 'bullmq';
import { PROVIDER_IDS, REASON_CODES, type ProviderId } from '../kyc/types.js';
import { BACKOFF_CAP_MS } from './backoff.js';

export const EVENTS_QUEUE = 'kyc-events';
export const RECONCILE_QUEUE = 'reconcile';
/** Partner notifications: one job per case at a time (jobId `notify-<caseId>`), delivering its outbox in order. */
export const NOTIFICATIONS_QUEUE = 'notifications';
export const providerQueue = (p: ProviderId): string => `provider-${p}`;

export const CreateUserJob = z.object({ caseId: z.string().min(1), round: z.number().int().min(0) });
export type CreateUserJob = z.infer<typeof CreateUserJob>;

export const RemediateJob = z.object({ caseId: z.string().min(1), attempt: z.number().int().min(1) });
export type RemediateJob = z.infer<typeof RemediateJob>;

const ReasonSchema = z.object({
  code: z.enum(REASON_CODES),
  field: z.string().optional(),
  providerText: z.string(),
});

/** A normalised provider event (webhook or poll) on its way to the state machine. */
export const ProviderEventJob = z.object({
  event: z.object({
    provider: z.enum(PROVIDER_IDS),
    providerEventId: z.string().min(1),
    type: z.string().min(1),
    userRef: z.string().min(1),
    source: z.enum(['webhook', 'poll']),
    occurredAt: z.string().optional(),
    providerStatus: z.string().optional(),
    outcome: z.enum(['verified', 'rejected', 'pending']),
    terminal: z.boolean(),
    informational: z.boolean().optional(),
    pollForDetails: z.boolean().optional(),
    basis: z.object({ attempts: z.number().int().min(0), createRound: z.number().int().min(0) }).optional(),
    webhookExpected: z.boolean().optional(),
    reasons: z.array(ReasonSchema),
    deadline: z.string().optional(),
  }),
});
export type ProviderEventJob = z.infer<typeof ProviderEventJob>;

export const PollJob = z.object({ caseId: z.string().min(1) });
export type PollJob = z.infer<typeof PollJob>;

/** Deliver the case's notification outbox to the partner, oldest first, until it is empty. */
export const NotifyJob = z.object({ caseId: z.string().min(1) });
export type NotifyJob = z.infer<typeof NotifyJob>;

export const JOB = { createUser: 'create-user', remediate: 'remediate', poll: 'poll', providerEvent: 'provider-event', reconcileTick: 'reconcile-tick', notify: 'notify' } as const;

/** A poll is retried a few times; the reconciler's lease re-claims it later if it still fails. */
export const POLL_JOB_OPTS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'capped-jitter', delay: 1_000 },
  removeOnComplete: { age: 600, count: 1_000 },
  removeOnFail: { age: 24 * 3600, count: 1_000 },
};

/**
 * Capped exponential backoff with jitter (see backoff.ts); attempts sized for ~1 h of outage.
 * Completed jobs are kept for inspection only (nothing reads them: a finished create or
 * remediation has moved its case on, so its job id is never added again), and as many as the
 * other queues keep: at ~1 KB each, 10,000 for a day was 1 KB of Redis per case (BENCHMARKS.md).
 */
export const PROVIDER_JOB_OPTS: JobsOptions = {
  attempts: 20,
  backoff: { type: 'capped-jitter', delay: 1_000 },
  removeOnComplete: { age: 3600, count: 1_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/**
 * How long the events queue keeps a job at all (failed ones, for inspection). The webhook dedupe
 * key must outlive it (config enforces WEBHOOK_DEDUPE_TTL > this), so that a redelivery can never
 * slip past dedupe while its first copy is still on record.
 */
export const EVENT_JOB_RETENTION_MS = 3 * 24 * 3_600_000;

/** Events retry while the case is not yet linked to its provider user (create still in flight). */
export const EVENT_JOB_OPTS: JobsOptions = {
  attempts: 12,
  backoff: { type: 'capped-jitter', delay: 500 },
  removeOnComplete: { age: 3600, count: 1_000 },
  removeOnFail: { age: EVENT_JOB_RETENTION_MS / 1000 },
};

/**
 * Notification jobs retry with the shared capped-jitter backoff for the whole retry window
 * (NOTIFY_RETRY_WINDOW): `attempts` is sized so that even the shortest jittered delays add up to
 * the window; the processor dead-letters by elapsed time, so the window, not the count, decides.
 * Jobs are removed when they finish, so the next `add` with the same jobId starts a new one.
 */
export function notifyJobOpts(o: { retryWindowMs: number; backoffBaseMs: number }): JobsOptions {
  return { attempts: notifyAttempts(o.retryWindowMs, o.backoffBaseMs), backoff: { type: 'capped-jitter', delay: o.backoffBaseMs }, removeOnComplete: true, removeOnFail: true };
}

/** Smallest attempt count whose minimum total backoff (each delay at least half its cap) covers the window. */
export function notifyAttempts(windowMs: number, baseMs: number): number {
  let total = 0;
  let attempts = 1;
  while (total < windowMs && attempts < 10_000) {
    total += Math.min(BACKOFF_CAP_MS, baseMs * 2 ** (attempts - 1)) / 2;
    attempts += 1;
  }
  return attempts;
}

export const jobIds = {
  createUser: (caseId: string, round: number) => `create-${caseId}-${round}`,
  remediate: (caseId: string, attempt: number) => `remediate-${caseId}-${attempt}`,
  poll: (caseId: string, at: Date) => `poll-${caseId}-${at.getTime()}`,
  notify: (caseId: string) => `notify-${caseId}`,
};
