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
  /** `mayHaveCommitted`: the provider may hold a user from this create (see createKeyRound). */
  | { kind: 'create_failed'; reason: Reason; errors?: { field?: string; message: string }[]; mayHaveCommitted?: boolean }
  | { kind: 'provider_event'; event: ProviderEvent }
  | { kind: 'remediation_submitted'; attempt: number; detail: string; synced?: string[] }
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
  /** Poll the provider user at the next reconcile tick (the event's reasons are only in its GET). */
  pollNow?: boolean;
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

/**
 * The create round whose idempotency key a create of this case sends; the one place that decides
 * it. A new round (PATCH or resolve retry of a case that has no provider user) normally takes a
 * new key: the previous round was refused (nothing was created), and its key may be spent. But once
 * a create may have committed unseen (`create_failed` with `mayHaveCommitted`), that round's key
 * is pinned for good: a later round replays it (same body) or gets a 409 (changed body) that the
 * adapter resolves by adopting the user, so no round can create a second provider user.
 */
export function createKeyRound(c: Pick<KycCase, 'createRound' | 'createKeyRound'>): number {
  return c.createKeyRound ?? c.createRound;
}

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
        patch: { providerUserId: input.providerUserId, providerStatus: input.providerStatus, reasons: [], providerErrors: undefined, escalation: undefined, unsyncedFields: undefined },
      };
    case 'preflight_failed':
    case 'create_failed': {
      if (c.status !== 'queued' && c.status !== 'creating') return null;
      const reasons = input.kind === 'preflight_failed' ? input.reasons : [input.reason];
      const needs = reasons.flatMap((r) => (r.field ? [r.field] : []));
      return escalate(c, input.kind, source, at, reasons, {
        proposedAction: input.kind === 'preflight_failed'
          ? `supply ${needs.join(', ')} with PATCH /v1/cases/{id}/applicant; the case resumes automatically`
          : input.mayHaveCommitted
            ? 'the provider may already hold a user for this case (its create was never confirmed): check the provider, then resolve with retry; the retry reuses the idempotency key of that create, never a new one'
            : 'fix the applicant data named in providerErrors with PATCH /v1/cases/{id}/applicant',
        needsFields: needs.length > 0 ? needs : undefined,
      }, input.kind === 'create_failed'
        ? { providerErrors: input.errors, ...(input.mayHaveCommitted ? { createKeyRound: createKeyRound(c) } : {}) }
        : {});
    }
    case 'provider_event':
      return onProviderEvent(c, input.event, policy, at, stay);
    case 'remediation_submitted':
      if (c.status !== 'remediating' || c.attempts !== input.attempt) return null;
      return { to: 'awaiting_verification', event: 'remediation_submitted', source, detail: input.detail, patch: { unsyncedFields: stillUnsynced(c, input.synced) } };
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
  // A poll read before the latest re-issue or re-create describes the previous attempt: ignore it.
  if (e.basis && (e.basis.attempts !== c.attempts || e.basis.createRound !== c.createRound)) return null;
  if (isTerminal(c.status)) {
    return stay(name, `late event recorded; case already ${c.status}`, e.reasons.length ? e.reasons : undefined);
  }
  if (e.occurredAt && c.lastEventAt && Date.parse(e.occurredAt) < Date.parse(c.lastEventAt)) {
    return stay(name, 'out-of-order event ignored: older than the last applied provider state');
  }
  const occurredAt = e.occurredAt && Number.isFinite(Date.parse(e.occurredAt)) ? new Date(e.occurredAt).toISOString() : undefined;
  const seen: Partial<KycCase> = { providerStatus: e.providerStatus ?? c.providerStatus, lastEventAt: occurredAt ?? c.lastEventAt, deadline: e.deadline ?? c.deadline };
  const drift = e.source === 'poll' && e.webhookExpected ? 'found by polling: no webhook delivered this state' : undefined;
  if (e.outcome === 'verified' && e.terminal) {
    return { to: 'verified', event: name, source: e.source, detail: drift, patch: { ...seen, decidedAt: at, escalation: undefined } };
  }
  if (e.outcome !== 'rejected' || e.informational) {
    // Nothing new (a poll of an unchanged state, a repeated status): no timeline entry at all.
    if (seen.providerStatus === c.providerStatus && seen.deadline === c.deadline) return null;
    const status = e.providerStatus ? `provider status ${e.providerStatus}` : undefined;
    if (e.informational && e.pollForDetails) {
      // Decided by the poll this asks for, on the reasons the provider's GET gives.
      return { ...stay(name, `${status ?? 'provider state changed'}; reasons are read from the provider now`), patch: seen, pollNow: true };
    }
    return { ...stay(name, status), patch: seen };
  }
  // A rejection: its reasons are stored the moment they arrive (Kira never returns them again).
  const reasons = e.reasons.length > 0 ? e.reasons : [{ code: 'unknown', providerText: 'no reasons delivered' } as Reason];
  // Escalated only for want of reasons (a poll found the rejection while its webhook, the one
  // carrier of Kira's reasons, was still on its way): now that they have come, decide on them as
  // if they had come first, instead of leaving a case that could remediate itself to a human.
  const lateReasons = c.status === 'escalated' && knowsReasons(e.reasons) && !knowsReasons(c.reasons);
  if ((c.status === 'remediating' || c.status === 'escalated') && !lateReasons) {
    // A rejection without reasons (a poll: Kira's GET never returns them) tells nothing new; the
    // reasons already stored (from the webhook, never sent again) stay what remediation works on.
    if (!knowsReasons(e.reasons) && c.reasons.length > 0) {
      if (seen.providerStatus === c.providerStatus && seen.deadline === c.deadline) return null;
      return { ...stay(name, `provider status ${e.providerStatus ?? 'unknown'}; the reasons on record stand`), patch: seen };
    }
    return { ...stay(name, `rejection recorded while ${c.status}`, reasons), patch: { ...seen, reasons } };
  }
  const d = decideAction(reasons, c.applicant, { attempts: c.attempts, maxAttempts: policy.maxAttempts });
  const why = drift ?? (lateReasons ? 'the reasons arrived after the case was escalated without them' : undefined);
  const said = (what: string): string => (why ? `${why}; ${what}` : what);
  switch (d.action) {
    case 'remediate':
      return { to: 'remediating', event: name, source: e.source, reasons, detail: said(d.proposedAction), patch: { ...seen, reasons, attempts: c.attempts + 1, escalation: undefined } };
    case 'reject':
      return { to: 'rejected', event: name, source: e.source, reasons, detail: said('rejected by rule'), patch: { ...seen, reasons, decidedAt: at, escalation: undefined } };
    case 'escalate':
      return escalate(c, name, e.source, at, reasons, { proposedAction: said(d.proposedAction), needsFields: d.needsFields }, seen);
  }
}

/** Whether a rejection's reasons say anything (not only `unknown`: none delivered, or lost). */
function knowsReasons(reasons: readonly Reason[]): boolean {
  return reasons.some((r) => r.code !== 'unknown');
}

/** What remains to push after a remediation that pushed `synced` (a PATCH may have come meanwhile). */
function stillUnsynced(c: KycCase, synced: readonly string[] = []): string[] | undefined {
  const left = (c.unsyncedFields ?? []).filter((f) => !synced.includes(f));
  return left.length > 0 ? left : undefined;
}

function onApplicantUpdated(c: KycCase, patch: ApplicantPatch, policy: Policy, at: string, source: EventSource): Transition {
  if (isTerminal(c.status)) throw new CaseConflictError(`case is ${c.status}; its applicant can no longer change`);
  const applicant: Applicant = mergeApplicant(c.applicant, patch);
  const changed = Object.keys(patch).join(', ');
  const base = { event: 'applicant_updated', source, detail: `fields supplied: ${changed}` };
  // A provider user holds what we sent: remember what it has not been sent yet (a create sends all).
  const unsyncedFields = c.providerUserId ? [...new Set([...(c.unsyncedFields ?? []), ...Object.keys(patch)])] : undefined;
  if (c.status !== 'escalated') return { ...base, to: c.status, patch: { applicant, unsyncedFields } };
  if (!c.providerUserId) {
    return { ...base, to: 'queued', patch: { applicant, createRound: c.createRound + 1, reasons: [], escalation: undefined, providerErrors: undefined } };
  }
  const d = decideAction(c.reasons, applicant, { attempts: c.attempts, maxAttempts: policy.maxAttempts });
  if (d.action !== 'remediate') {
    return { ...base, to: 'escalated', patch: { applicant, unsyncedFields, escalation: { since: c.escalation?.since ?? at, proposedAction: d.proposedAction, needsFields: d.needsFields } } };
  }
  return { ...base, to: 'remediating', detail: `${base.detail}; remediation resumes`, patch: { applicant, unsyncedFields, attempts: c.attempts + 1, escalation: undefined } };
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
