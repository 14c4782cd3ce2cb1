/**
 * The provider port. Each provider directory implements it; everything else talks to providers
 * only through this interface (and never over HTTP itself).
 */
import type { Applicant } from '../kyc/applicant.js';
import type { ProviderEvent, ProviderId, Reason } from '../kyc/types.js';
import type { FieldProblem } from './errors.js';

export interface CallContext {
  /** Fixed when the job is enqueued; identical on every retry of the same logical call. */
  idempotencyKey: string;
  signal: AbortSignal;
}

export interface ProviderUser {
  providerUserId: string;
  providerStatus?: string;
  /** True when an existing user was found and adopted instead of created (retried create). */
  adopted: boolean;
}

/** What a GET of the provider user says, already mapped to our outcome model. */
export interface ProviderUserState {
  providerUserId: string;
  providerStatus: string;
  outcome: 'verified' | 'rejected' | 'pending';
  terminal: boolean;
  reasons: Reason[];
  deadline?: string;
}

export interface RawWebhook {
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

export type WebhookVerdict =
  | { ok: true }
  | { ok: false; reason: 'missing_signature' | 'bad_signature' | 'stale' }; // -> 401

export type ParsedWebhook =
  | { kind: 'event'; event: ProviderEvent } // -> 202, queued
  | { kind: 'ignored'; eventId?: string; type: string } // unknown or test event -> 202, counted
  | { kind: 'unusable'; eventId?: string; problem: string }; // signed but unusable -> 202, kept

export interface PreflightProblem extends FieldProblem {
  field: string;
}

export interface RemediationInput {
  providerUserId: string;
  applicant: Applicant;
  reasons: readonly Reason[];
  attempt: number;
  /** Top-level applicant fields supplied since the provider last received the applicant (push them too). */
  changedFields?: readonly string[];
}

export interface ProviderAdapter {
  readonly id: ProviderId;
  /** Requests per second the provider allows for this account (the queue's rate limiter). */
  readonly rateLimit: { max: number; durationMs: number };
  /**
   * Whether the provider delivers user outcomes by webhook. When it does, a poll that finds a new
   * state is drift (the webhook was lost); when it does not (Wealthyhood), polling is the channel.
   */
  readonly webhooks: boolean;
  /** Every field the provider needs for automatic verification that the applicant lacks. */
  preflight(a: Applicant): PreflightProblem[];
  createUser(a: Applicant, ctx: CallContext): Promise<ProviderUser>;
  getUser(providerUserId: string, ctx: Omit<CallContext, 'idempotencyKey'>): Promise<ProviderUserState>;
  /** Pushes the corrected data and re-triggers verification; returns a short audit detail. */
  remediate(input: RemediationInput, ctx: CallContext): Promise<string>;
  /** Pure and constant-time; `now` is the injected clock's reading. */
  verifyWebhook(raw: RawWebhook, now: Date): WebhookVerdict;
  /** `body` is already JSON-parsed; `receivedAt` from the injected clock. */
  parseWebhook(body: unknown, raw: RawWebhook, receivedAt: Date): ParsedWebhook;
}
