/**
 * Domain types of a KYC case. Pure: nothing here knows about Redis, HTTP or queues.
 */
import type { Applicant } from './applicant.js';

export const PROVIDER_IDS = ['kira', 'kraken', 'wealthyhood'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

export function isProviderId(v: string): v is ProviderId {
  return (PROVIDER_IDS as readonly string[]).includes(v);
}

export const CASE_STATUSES = [
  'queued',
  'creating',
  'awaiting_verification',
  'remediating',
  'escalated',
  'verified',
  'rejected',
] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

/** `verified` and `rejected` absorb every later event. */
export const TERMINAL_STATUSES: ReadonlySet<CaseStatus> = new Set(['verified', 'rejected']);
export function isTerminal(s: CaseStatus): boolean {
  return TERMINAL_STATUSES.has(s);
}

export const REASON_CODES = [
  'missing_data',
  'session_expired',
  'document_unreadable',
  'document_expired',
  'identity_mismatch',
  'sanctions_or_pep',
  'fraud_suspected',
  'underage',
  'unsupported_country',
  'duplicate_user',
  'provider_error',
  'unknown',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export type Action = 'remediate' | 'escalate' | 'reject';

/** One provider reason, mapped to our taxonomy. `field` is a canonical applicant path. */
export interface Reason {
  code: ReasonCode;
  field?: string;
  providerText: string;
}

export type EventSource = 'api' | 'webhook' | 'poll' | 'operator' | 'system';

/** Outcome a provider state implies, decided by the provider adapter's status mapping. */
export type ProviderOutcome = 'verified' | 'rejected' | 'pending';

/**
 * A provider event normalised by its adapter (webhook or poll). `terminal` is decided by the
 * adapter's status mapping only (Kira: `status`, never `verification_status`).
 */
export interface ProviderEvent {
  provider: ProviderId;
  providerEventId: string;
  type: string;
  userRef: string;
  source: 'webhook' | 'poll';
  /** Provider's own event time when it has one (ISO); used for out-of-order protection. */
  occurredAt?: string;
  providerStatus?: string;
  outcome: ProviderOutcome;
  terminal: boolean;
  /** When true the event decides nothing on its own (e.g. a status change without reasons). */
  informational?: boolean;
  /**
   * With `informational`: the event names a state without its reasons, which only a GET of the
   * provider user returns (Kraken `user.disabled` / `user.closed`). The case is polled at once and
   * the poll decides.
   */
  pollForDetails?: boolean;
  reasons: Reason[];
  deadline?: string;
  /**
   * Poll events: the case's remediation attempt and create round when the provider was read. A
   * result read before a re-issue or a re-create but applied after it describes the previous
   * attempt and is ignored (Kira events carry no timestamps to order them by).
   */
  basis?: { attempts: number; createRound: number };
  /** Poll events: the provider delivers such states by webhook, so finding one by polling is drift. */
  webhookExpected?: boolean;
}

export interface TimelineEntry {
  seq: number;
  at: string;
  source: EventSource;
  event: string;
  from: CaseStatus | null;
  to: CaseStatus;
  reasons?: Reason[];
  detail?: string;
  prevHash: string;
  hash: string;
}

export interface Escalation {
  since: string;
  proposedAction: string;
  /** Fields the partner must supply before automatic remediation can resume. */
  needsFields?: string[];
}

export interface KycCase {
  id: string;
  provider: ProviderId;
  externalId: string;
  status: CaseStatus;
  applicant: Applicant;
  providerUserId?: string;
  providerStatus?: string;
  reasons: Reason[];
  /** Automatic remediation attempts made so far. */
  attempts: number;
  /** Incremented every time the case goes back to `queued` for a (re-)create. */
  createRound: number;
  /**
   * Set once a create may have committed at the provider without us learning its user (no answer
   * after every retry, or a conflict no lookup could resolve): the round whose idempotency key
   * every later create round reuses, so that no round can create a second provider user. Unset,
   * each round uses its own key (nothing was created: preflight stopped it or the provider refused).
   */
  createKeyRound?: number;
  version: number;
  createdAt: string;
  updatedAt: string;
  /**
   * Top-level applicant fields supplied (PATCH) since the provider last received the applicant:
   * the next remediation pushes them with what the reasons name, so an operator's correction (a
   * new identity document, a fixed name) reaches the provider before verification is re-run.
   */
  unsyncedFields?: string[];
  /** When the case entered its current status: the poll backoff grows with this age. */
  statusSince?: string;
  decidedAt?: string;
  lastEventAt?: string;
  escalation?: Escalation;
  /** Field-level problems reported by the provider on a permanent (4xx) answer. */
  providerErrors?: { field?: string; message: string }[];
  deadline?: string;
}
