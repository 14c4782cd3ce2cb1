/**
 * The case state machine: a pure function from (case, input) to the next transition.
 * The store applies the result with compare-and-set on the case version, so running the same
 * input twice can never apply it twice (see the store's applied-input set).
 */
import { mergeApplicant, type Applicant, type ApplicantPatch } from './applicant.js';
import { decideAction } from './reasons.js';
import type { CaseStatus, EventSource, KycCase, ProviderEvent, Reason } from './types.js';
import { isTerminal } from './types.js';

export type CaseInput =
  | { kind: 'create_started' }
  | { kind: 'user_created'; providerUserId: string; providerStatus?: string; adopted: boolean }
  | { kind: 'preflight_failed'; reasons: Reason[] }
  | { kind: 'create_failed'; reason: Reason; errors?: { field?: string; message: string }[] }
  | { kind: 'provider_event'; event: ProviderEvent }
  | { kind: 'remediation_submitted'; attempt: number; detail: string }
  | { kind: 'remediation_failed'; reason: Reason; errors?: { field?: string; message: string }[] }
  | { kind: 'applicant_updated'; patch: ApplicantPatch }
  | { kind: 'resolve'; action: 'retry' | 'reject'; note?: string }
  | { kind: 'deadline_near'; deadline: string };

export interface Transition {
  to: CaseStatus;
  event: string;
  source: EventSource;
  detail?: string;
  reasons?: Reason[];
  patch: Partial<Omit<KycCase, 'id' | 'version' | 'status'>>;
}

export interface Policy {
  maxAttempts: number;
}

/** A request that the case's state does not allow (→ 409 at the API). */
export class CaseConflictError extends Error {
  override readonly name = 'CaseConflictError';
}

const SOURCE_OF: Record<CaseInput['kind'], EventSource> = {
  create_started: 'system',
  user_created: 'system',
  preflight_failed: 'system',
  create_failed: 'system',
  provider_event: 'webhook',
  remediation_submitted: 'system',
  remediation_failed: 'system',
  applicant_updated: 'api',
  resolve: 'operator',
  deadline_near: 'system',
};

/** Returns the transition to apply, or null when the input changes nothing and records nothing. */
export function decide(c: KycCase, input: CaseInput, policy: Policy, now: Date): Transition | null {
  const at = now.toISOString();
  const source = input.kind === 'provider_event' ? input.event.source : SOURCE_OF[input.kind];
  const stay = (event: string, detail?: string, reasons?: Reason[]): Transition => ({
    to: c.status, event, source, detail, reasons, patch: {},
  });
  switch (input.kind) {
    case 'create_started':
      return c.status === 'queued' ? { to: 'creating', event: 'create_started', source, patch: {} } : null;
    case 'user_created':
      if (c.providerUserId || (c.status !== 'queued' && c.status !== 'creating')) return null;
      return {
        to: 'awaiting_verification', source,
        event: input.adopted ? 'provider_user_adopted' : 'provider_user_created',
        detail: input.adopted ? 'existing provider user adopted (create was retried)' : undefined,
        patch: { providerUserId: input.providerUserId, providerStatus: input.providerStatus, reasons: [], providerErrors: undefined, escalation: undefined },
      };
    case 'preflight_failed':
    case 'create_failed': {
      if (c.status !== 'queued' && c.status !== 'creating') return null;
      const reasons = input.kind === 'preflight_failed' ? input.reasons : [input.reason];
      const needs = reasons.flatMap((r) => (r.field ? [r.field] : []));
      return escalate(c, input.kind, source, at, reasons, {
        proposedAction: input.kind === 'preflight_failed'
          ? `supply ${needs.join(', ')} with PATCH /v1/cases/{id}/applicant; the case resumes automatically`
          : 'fix the applicant data named in providerErrors with PATCH /v1/cases/{id}/applicant',
        needsFields: needs.length > 0 ? needs : undefined,
      }, input.kind === 'create_failed' ? { providerErrors: input.errors } : {});
    }
    case 'provider_event':
      return onProviderEvent(c, input.event, policy, at, stay);
    case 'remediation_submitted':
      if (c.status !== 'remediating' || c.attempts !== input.attempt) return null;
      return { to: 'awaiting_verification', event: 'remediation_submitted', source, detail: input.detail, patch: {} };
    case 'remediation_failed':
      if (c.status !== 'remediating') return null;
      return escalate(c, 'remediation_failed', source, at, [input.reason], {
        proposedAction: 'remediation was refused by the provider: review providerErrors, fix the data and resolve with retry',
      }, { providerErrors: input.errors });
    case 'applicant_updated':
      return onApplicantUpdated(c, input.patch, policy, at, source);
    case 'resolve':
      return onResolve(c, input.action, input.note, source, at);
    case 'deadline_near':
      if (isTerminal(c.status) || c.status === 'escalated') return null;
      return escalate(c, 'deadline_near', source, at, c.reasons, {
        proposedAction: `the provider deadline ${input.deadline} is near: resolve the required actions before it passes`,
      }, { deadline: input.deadline });
  }
}

function onProviderEvent(
  c: KycCase, e: ProviderEvent, policy: Policy, at: string,
  stay: (event: string, detail?: string, reasons?: Reason[]) => Transition,
): Transition | null {
  const name = `${e.source}:${e.type}`;
  if (isTerminal(c.status)) {
    return stay(name, `late event recorded; case already ${c.status}`, e.reasons.length ? e.reasons : undefined);
  }
  if (e.occurredAt && c.lastEventAt && Date.parse(e.occurredAt) < Date.parse(c.lastEventAt)) {
    return stay(name, 'out-of-order event ignored: older than the last applied provider state');
  }
  const occurredAt = e.occurredAt && Number.isFinite(Date.parse(e.occurredAt)) ? new Date(e.occurredAt).toISOString() : undefined;
  const seen: Partial<KycCase> = { providerStatus: e.providerStatus ?? c.providerStatus, lastEventAt: occurredAt ?? c.lastEventAt, deadline: e.deadline ?? c.deadline };
  const drift = e.source === 'poll' ? 'found by polling: no webhook delivered this state' : undefined;
  if (e.outcome === 'verified' && e.terminal) {
    return { to: 'verified', event: name, source: e.source, detail: drift, patch: { ...seen, decidedAt: at, escalation: undefined } };
  }
  if (e.outcome !== 'rejected' || e.informational) {
    // Nothing new (a poll of an unchanged state, a repeated status): no timeline entry at all.
    if (seen.providerStatus === c.providerStatus && seen.deadline === c.deadline) return null;
    return { ...stay(name, e.providerStatus ? `provider status ${e.providerStatus}` : undefined), patch: seen };
  }
  // A rejection: its reasons are stored the moment they arrive (Kira never returns them again).
  const reasons = e.reasons.length > 0 ? e.reasons : [{ code: 'unknown', providerText: 'no reasons delivered' } as Reason];
  if (c.status === 'remediating' || c.status === 'escalated') {
    return { ...stay(name, `rejection recorded while ${c.status}`, reasons), patch: { ...seen, reasons } };
  }
  const d = decideAction(reasons, c.applicant, { attempts: c.attempts, maxAttempts: policy.maxAttempts });
  switch (d.action) {
    case 'remediate':
      return { to: 'remediating', event: name, source: e.source, reasons, detail: drift ? `${drift}; ${d.proposedAction}` : d.proposedAction, patch: { ...seen, reasons, attempts: c.attempts + 1 } };
    case 'reject':
      return { to: 'rejected', event: name, source: e.source, reasons, detail: drift ? `${drift}; rejected by rule` : 'rejected by rule', patch: { ...seen, reasons, decidedAt: at } };
    case 'escalate':
      return escalate(c, name, e.source, at, reasons, { proposedAction: drift ? `${drift}; ${d.proposedAction}` : d.proposedAction, needsFields: d.needsFields }, seen);
  }
}

function onApplicantUpdated(c: KycCase, patch: ApplicantPatch, policy: Policy, at: string, source: EventSource): Transition {
  if (isTerminal(c.status)) throw new CaseConflictError(`case is ${c.status}; its applicant can no longer change`);
  const applicant: Applicant = mergeApplicant(c.applicant, patch);
  const changed = Object.keys(patch).join(', ');
  const base = { event: 'applicant_updated', source, detail: `fields supplied: ${changed}` };
  if (c.status !== 'escalated') return { ...base, to: c.status, patch: { applicant } };
  if (!c.providerUserId) {
    return { ...base, to: 'queued', patch: { applicant, createRound: c.createRound + 1, reasons: [], escalation: undefined, providerErrors: undefined } };
  }
  const d = decideAction(c.reasons, applicant, { attempts: c.attempts, maxAttempts: policy.maxAttempts });
  if (d.action !== 'remediate') {
    return { ...base, to: 'escalated', patch: { applicant, escalation: { since: c.escalation?.since ?? at, proposedAction: d.proposedAction, needsFields: d.needsFields } } };
  }
  return { ...base, to: 'remediating', detail: `${base.detail}; remediation resumes`, patch: { applicant, attempts: c.attempts + 1, escalation: undefined } };
}

function onResolve(c: KycCase, action: 'retry' | 'reject', note: string | undefined, source: EventSource, at: string): Transition {
  if (c.status !== 'escalated') throw new CaseConflictError(`case is ${c.status}, not escalated`);
  const detail = note ? `operator: ${note}` : undefined;
  if (action === 'reject') {
    return { to: 'rejected', event: 'resolved_reject', source, detail, patch: { decidedAt: at, escalation: undefined } };
  }
  if (!c.providerUserId) {
    return { to: 'queued', event: 'resolved_retry', source, detail, patch: { createRound: c.createRound + 1, escalation: undefined, providerErrors: undefined } };
  }
  return { to: 'remediating', event: 'resolved_retry', source, detail, patch: { attempts: c.attempts + 1, escalation: undefined } };
}

function escalate(
  c: KycCase, event: string, source: EventSource, at: string, reasons: Reason[],
  esc: { proposedAction: string; needsFields?: string[] }, extra: Partial<KycCase>,
): Transition {
  return {
    to: 'escalated', event, source, reasons, detail: esc.proposedAction,
    patch: { ...extra, reasons, escalation: { since: c.escalation?.since ?? at, ...esc } },
  };
}
