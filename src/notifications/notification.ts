/**
 * Partner notifications: which transitions are decisions the partner hears about, and the payload
 * sent for each. Pure (no Redis, no HTTP): the case store calls `notificationFor` inside `apply`
 * and writes the result to the case's outbox in the same Lua script as the transition.
 */
import { z } from 'zod';
import type { CaseStatus, KycCase, Reason } from '../kyc/types.js';
import { CASE_STATUSES, PROVIDER_IDS, REASON_CODES } from '../kyc/types.js';

export const NOTIFICATION_TYPES = ['case.verified', 'case.rejected', 'case.escalated', 'case.escalation_resolved'] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/**
 * The JSON body POSTed to PARTNER_WEBHOOK_URL. `id` is also the `webhook-id` header and is the
 * same on every retry and replay, so the partner can deduplicate. No applicant data (PII) beyond
 * the partner's own `externalId`.
 */
export const Notification = z.object({
  type: z.enum(NOTIFICATION_TYPES),
  id: z.string().min(1),
  createdAt: z.string(),
  data: z.object({
    caseId: z.string().min(1),
    provider: z.enum(PROVIDER_IDS),
    externalId: z.string(),
    status: z.enum(CASE_STATUSES),
    reasons: z.array(z.object({ code: z.enum(REASON_CODES), field: z.string().optional(), providerText: z.string() })),
    /** Only on `case.escalation_resolved`: what the operator decided. */
    resolution: z.enum(['retry', 'reject']).optional(),
  }),
});
export type Notification = z.infer<typeof Notification>;

/** The slice of a transition that decides whether the partner is notified. */
export interface DecisionInput {
  from: CaseStatus;
  to: CaseStatus;
  event: string;
  reasons?: readonly Reason[];
}

const RESOLUTION_OF: Readonly<Record<string, 'retry' | 'reject'>> = { resolved_retry: 'retry', resolved_reject: 'reject' };
const TYPE_OF_STATUS: Partial<Record<CaseStatus, NotificationType>> = {
  verified: 'case.verified',
  rejected: 'case.rejected',
  escalated: 'case.escalated',
};

/**
 * A decision is a change of status into verified / rejected / escalated, or an operator's
 * resolution of an escalation (`resolved_retry` / `resolved_reject`). A resolve-reject is reported
 * once, as `case.escalation_resolved` with status `rejected`, not twice.
 */
export function notificationType(t: DecisionInput): NotificationType | null {
  if (RESOLUTION_OF[t.event]) return 'case.escalation_resolved';
  if (t.from === t.to) return null;
  return TYPE_OF_STATUS[t.to] ?? null;
}

/** Deterministic: one notification per timeline entry, so a re-run produces the same id. */
export function notificationId(caseId: string, seq: number): string {
  return `ntf_${caseId}_${seq}`;
}

/** The notification for a transition, or null when it is not a decision. */
export function notificationFor(
  c: Pick<KycCase, 'id' | 'provider' | 'externalId' | 'reasons'>,
  t: DecisionInput,
  entry: { seq: number; at: string },
): Notification | null {
  const type = notificationType(t);
  if (!type) return null;
  // Verified carries no reasons: earlier rejections that were remediated are history, not the decision.
  const reasons = type === 'case.verified' ? [] : (t.reasons?.length ? t.reasons : c.reasons);
  const resolution = RESOLUTION_OF[t.event];
  return {
    type,
    id: notificationId(c.id, entry.seq),
    createdAt: entry.at,
    data: {
      caseId: c.id,
      provider: c.provider,
      externalId: c.externalId,
      status: t.to,
      reasons: reasons.map((r) => ({ code: r.code, ...(r.field ? { field: r.field } : {}), providerText: r.providerText })),
      ...(resolution ? { resolution } : {}),
    },
  };
}
