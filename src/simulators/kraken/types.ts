/**
 * Public types of the Kraken Embed simulator (PROVIDERS.md §1 and §5 rules 1–7).
 */
import type { Clock } from '../../lib/clock.js';
import type { SimFaults } from '../shared/faults.js';

export type KrakenUserState = 'ok' | 'disabled' | 'closed';
export type KrakenWebhookEvent = 'user.verified' | 'user.disabled' | 'user.closed' | 'webhook.test';

/**
 * The simulator's fault switches: the shared ones plus `requestTimeout`, the share of API calls
 * answered `408 Request Timeout` (Kraken documents 408 as retryable; rule 7).
 */
export interface KrakenFaults extends SimFaults {
  requestTimeout: number;
}

export interface KrakenSimulatorOptions {
  apiKey: string;
  /** Base64, as Kraken issues it (the HMAC-SHA512 key is the decoded bytes). */
  apiSecret: string;
  /** Base64, newest first; deliveries are signed with `webhookSecrets[0]`. */
  webhookSecrets: string[];
  /**
   * Registers this URL at start as an enabled webhook subscribed to the user events (what a partner
   * sets up with `POST /b2b/webhooks` + `PATCH`); the same as calling `setWebhookUrl`.
   */
  webhookUrl?: string;
  /** Kraken retries failed deliveries with exponential backoff for this long; default 300 000 (5 min). */
  retryWindowMs?: number;
  /** What a duplicate `external_id` gets: 409 with the existing IIBAN in `result.user` (default) or without it. */
  duplicateExternalId?: 'conflict_with_iiban' | 'conflict_without_iiban';
  /**
   * Delay before a data-driven decision (verify, required action, disable, close), which a
   * verification submission starts (and a PATCH re-runs once one was submitted); default 1500 ms.
   */
  decisionDelayMs?: number;
  /** Verify complete users by themselves (default true); false = they stay in onboarding. */
  autoVerify?: boolean;
  /** Deadline of the `initial_onboarding` required action, after creation; default 30 days. */
  onboardingDeadlineMs?: number;
  /** Deadline of a required action raised by a decision; default 14 days. */
  actionDeadlineMs?: number;
  /** Generate IIBANs with spaces (`AA12 ABCD EFGH IJKL`, default) or without. */
  iibanSpaces?: boolean;
  faults?: Partial<KrakenFaults>;
  /** Per API key; Embed's numbers are [UNKNOWN], so off unless given. */
  rateLimit?: { perSecond: number; burst: number } | false;
  clock?: Clock;
  random?: () => number;
  /** Default 0 (any free port) on 127.0.0.1. */
  port?: number;
  host?: string;
  logger?: { warn(obj: object, msg?: string): void };
}

export interface RequiredAction {
  action_type: string;
  verification_type: string;
  reasons: string[];
  deadline: string;
}

/** A snapshot of one user as the simulator holds it. */
export interface KrakenSimUser {
  iiban: string;
  /** 1-based creation order. */
  seq: number;
  externalId: string;
  /** The request fields as written by create and PATCH (nested objects as sent). */
  fields: Record<string, unknown>;
  state: KrakenUserState;
  verified: boolean;
  requiredActions: RequiredAction[];
  /** `status.reasons` (Go SDK): why the user was disabled or closed. */
  statusReasons: string[];
  /** Verifications submitted (`POST /b2b/verifications/{user}`), oldest first. */
  verifications: KrakenSimVerification[];
  /** Decisions run so far (each new verification +1, each PATCH after one +1). */
  runs: number;
  createdAt: string;
  updatedAt: string;
}

/** One verification submission: the multipart `type` and its parsed `metadata`. */
export interface KrakenSimVerification {
  id: string;
  type: string;
  metadata: Record<string, unknown>;
  at: string;
}

/** A webhook registration (`POST /b2b/webhooks`, PROVIDERS.md §1.8). The secret is never kept here. */
export interface KrakenWebhookRegistration {
  id: string;
  url: string;
  enabled: boolean;
  subscribed_events: string[];
  created_at: string;
  updated_at: string;
}

export type AuthFailure = 'missing_headers' | 'invalid_key' | 'invalid_signature' | 'invalid_nonce';

export interface RecordedRequest {
  method: string;
  /** Path and query as received (percent-encoded, as signed). */
  path: string;
  nonce?: string;
  /** Why authentication refused it (401), if it did. */
  authFailure?: AuthFailure;
  /** Top-level keys of a JSON body that passed authentication. */
  bodyKeys?: string[];
  /** HTTP status; 'pending' while in flight; 'timeout' when the simulator chose never to answer. */
  status: number | 'pending' | 'timeout';
  at: string;
}

export interface DeliveryRecord {
  eventId: string;
  event: KrakenWebhookEvent;
  iiban?: string;
  /** The registration delivered to (`X-Webhook-ID`); absent for 'no_url' and 'dropped'. */
  webhookId?: string;
  /**
   * Receiver's HTTP status, 'error' (network/timeout), 'dropped' (fault) or 'no_url' (no enabled
   * registration subscribed to the event, or it was disabled/deleted before a retry).
   */
  status: number | 'error' | 'dropped' | 'no_url';
  /** 1 for the first attempt, +1 per retry. */
  attempt: number;
  /** 2 for the duplicate copy of a duplicated delivery. */
  copy: number;
  /** True on the last attempt of a delivery that never got a 2xx inside the retry window. */
  gaveUp?: boolean;
  at: string;
}

/** Scripted outcomes (the "Kraken operations team"), beside the data-driven ones. */
export type SimOutcome =
  | { kind: 'verify' }
  | { kind: 'require'; reasons: string[]; deadline?: string }
  | { kind: 'disable'; reasons?: string[] }
  | { kind: 'close'; reasons?: string[] };

export interface KrakenSimulator {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Stops the server, every pending timer and in-flight delivery. */
  close(): Promise<void>;
  /**
   * Registers (or re-points) the simulator's own webhook registration at `url`, enabled and
   * subscribed to `user.verified`, `user.disabled` and `user.closed`: the setup a partner does with
   * `POST /b2b/webhooks` + `PATCH /b2b/webhooks/{id}`, for tests and `npm start`.
   */
  setWebhookUrl(url: string): void;
  /** Current webhook registrations (what `GET /b2b/webhooks` lists). */
  webhooks(): KrakenWebhookRegistration[];
  setFaults(f: Partial<KrakenFaults>): void;
  /** The new secret is first; deliveries keep using the old one for `overlapMs` (default 60000). */
  rotateSecret(newSecret: string, overlapMs?: number): void;
  users(): KrakenSimUser[];
  requests(): RecordedRequest[];
  deliveries(): DeliveryRecord[];
  /** Applies an outcome now (and emits its webhook, if it has one). */
  apply(iiban: string, outcome: SimOutcome): void;
  /** Sends `webhook.test` to every enabled registration (`POST /b2b/webhooks/{id}/test` targets one). */
  sendTestWebhook(): void;
  /** Resolves when no delivery or timer is pending. */
  idle(): Promise<void>;
}
