import { APPLICANT_FIELDS, hasField } from '../kyc/applicant.js';
import type { KycCase, TimelineEntry } from '../kyc/types.js';

export interface ViewContext {
  now: Date;
  /** How long an escalation may stay open before it is overdue. */
  escalationSlaMs: number;
}

/** What the API shows of a case: everything but the applicant's values (only which fields are present). */
export function caseView(c: KycCase, ctx: ViewContext, timeline?: TimelineEntry[]) {
  const escalation = c.status === 'escalated' && c.escalation
    ? { ...c.escalation, overdue: ctx.now.getTime() - Date.parse(c.escalation.since) > ctx.escalationSlaMs }
    : null;
  return {
    caseId: c.id,
    status: c.status,
    provider: c.provider,
    externalId: c.externalId,
    providerUserId: c.providerUserId ?? null,
    providerStatus: c.providerStatus ?? null,
    reasons: c.reasons,
    attempts: c.attempts,
    escalation,
    providerErrors: c.providerErrors ?? [],
    applicantFields: APPLICANT_FIELDS.filter((f) => hasField(c.applicant, f)),
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    decidedAt: c.decidedAt ?? null,
    version: c.version,
    ...(timeline ? { timeline } : {}),
  };
}
