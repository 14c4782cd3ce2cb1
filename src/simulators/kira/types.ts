/**
 * Public types of the Kira simulator (see PROVIDERS.md §2 and §5 rules 8–16).
 */
import type { Clock } from '../../lib/clock.js';
import type { SimFaults } from '../shared/faults.js';
import type { FetchFn } from '../../lib/node-fetch.js';

/**
 * `status` is Kira's gate field; `REVIEW` and `ACTIVE` are the undocumented values seen in real
 * tenants (PROVIDERS.md §2.6), both non-terminal.
 */
export type KiraUserStatus =
  'CREATED' | 'VERIFYING' | 'REVIEW' | 'ACTIVE' | 'VERIFIED' | 'REJECTED';

/** Advisory only: it can contradict `status` (e.g. REJECTED + unverified, VERIFIED + in_review). */
export type KiraVerificationStatus =
  'unverified' | 'started' | 'in_review' | 'verified' | 'rejected' | 'needs_action';

export type KiraWebhookEvent =
  'user.status_changed' | 'user.verification.accepted' | 'user.verification.failed';

export interface KiraSimulatorOptions {
  apiKey: string;
  clientId: string;
  password: string;
  /** Newest first; deliveries are signed with `webhookSecrets[0]`. */
  webhookSecrets: string[];
  /** Where webhooks are POSTed; settable later with `setWebhookUrl`. */
  webhookUrl?: string;
  /** What webhooks are POSTed with (default node-fetch.ts); the benchmark passes a leaner client. */
  webhookFetch?: FetchFn;
  /** Default 3600 (the sandbox has been seen answering 86400). */
  tokenTtlSeconds?: number;
  /** Same key + same body: replay the original 201 (default) or answer 409. */
  idempotencyReplay?: 'replay' | 'conflict';
  /** Webhook retry schedule in ms on 408/429/5xx/network error; default 'none' (delivered once). */
  retryMode?: 'none' | number[];
  /** Delay before a data-driven rejection; default 1500 ms. */
  autoRejectDelayMs?: number;
  /** Delay before a complete user is verified; default 1500 ms. */
  verifyDelayMs?: number;
  /**
   * Verify complete users by themselves (default true); false = wait for `flip`, as Kira's sandbox
   * does (PROVIDERS.md §5 rule 13: "no auto-verify by default"). The shipped default follows
   * DESIGN.md's outcome table instead ("complete → verified after a short delay"): DESIGN wins for
   * the simulator `npm start` and the tests run, so a complete onboarding finishes on its own.
   */
  autoVerify?: boolean;
  /**
   * Whether `GET /v1/users` list items carry `external_id` (default true). Kira's list shape is
   * [UNKNOWN] (§2.4): false answers items without it, while `GET /v1/users/{id}` keeps it.
   */
  listItemsCarryExternalId?: boolean;
  faults?: Partial<SimFaults>;
  /** Per account; default 20/s with a burst of 50. `false` disables the limiter. */
  rateLimit?: { perSecond: number; burst: number } | false;
  clock?: Clock;
  random?: () => number;
  /** Default 0 (any free port) on 127.0.0.1. */
  port?: number;
  host?: string;
  logger?: { warn(obj: object, msg?: string): void };
}

/** A snapshot of one user as the simulator holds it (including what GET never shows). */
export interface SimUser {
  userId: string;
  /** 1-based creation order; drives the deterministic status quirks. */
  seq: number;
  externalId: string;
  status: KiraUserStatus;
  verificationStatus: KiraVerificationStatus;
  /** The flat request fields as written by create and PUT. */
  fields: Record<string, unknown>;
  /** Verification runs so far (create = 1, each re-issue +1). */
  verificationAttempts: number;
  /** Reasons of the latest rejection: only ever sent in `user.verification.failed`. */
  lastReasons: string[];
  createdAt: string;
  updatedAt: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  idempotencyKey?: string;
  /** HTTP status; 'pending' while in flight; 'timeout' when the simulator chose never to answer. */
  status: number | 'pending' | 'timeout';
  at: string;
}

export interface DeliveryRecord {
  eventId: string;
  event: KiraWebhookEvent;
  userId: string;
  /** Receiver's HTTP status, 'error' (network/timeout), 'dropped' (fault) or 'no_url' (none set). */
  status: number | 'error' | 'dropped' | 'no_url';
  /** 1 for the first attempt, +1 per retry. */
  attempt: number;
  /** 2 for the duplicate copy of a duplicated delivery. */
  copy: number;
  at: string;
}

export interface KiraSimulator {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Stops the server, every pending timer and in-flight delivery. */
  close(): Promise<void>;
  setWebhookUrl(url: string): void;
  setFaults(f: Partial<SimFaults>): void;
  /** The new secret is first; deliveries keep using the old one for `overlapMs` (default 60000). */
  rotateSecret(newSecret: string, overlapMs?: number): void;
  users(): SimUser[];
  requests(): RecordedRequest[];
  deliveries(): DeliveryRecord[];
  /** "Your Kira contact flips it": sets the status and emits the matching webhooks. */
  flip(userId: string, status: 'VERIFIED' | 'REJECTED', reasons?: string[]): void;
  /** Resolves when no delivery or timer is pending. */
  idle(): Promise<void>;
}
