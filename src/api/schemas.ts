/** Request and response schemas of the partner API (the routes validate with these). */
import { z } from 'zod';
import { ApplicantPatchSchema, ApplicantSchema } from '../kyc/applicant.js';
import { CASE_STATUSES, PROVIDER_IDS, REASON_CODES } from '../kyc/types.js';
import { decodeCursor } from '../store/case-store.js';

export const OnboardingRequest = z.object({ provider: z.enum(PROVIDER_IDS), applicant: ApplicantSchema }).strict();

/**
 * A cursor this API returned. The store checks the format only; an offset past 2^53 (`o:` and 25
 * digits) would reach Redis as `1e+24`, and Redis refuses it (a 500, found by fuzzing).
 */
const Cursor = z.string().min(1).max(200).refine((s) => {
  try {
    return Number.isSafeInteger(decodeCursor(s));
  } catch {
    return false;
  }
}, 'not a cursor this API returned');

export const CaseListQuery = z.object({
  status: z.enum(CASE_STATUSES).optional(),
  provider: z.enum(PROVIDER_IDS).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: Cursor.optional(),
}).strict();

export const ResolveRequest = z.object({ action: z.enum(['retry', 'reject']), note: z.string().max(2000).optional() }).strict();

export const ApplicantPatchRequest = ApplicantPatchSchema.refine((p) => Object.keys(p).length > 0, { message: 'supply at least one field' });

// Response schemas: the OpenAPI document is generated from these and from the request schemas above.
const ReasonView = z.object({ code: z.enum(REASON_CODES), field: z.string().optional(), providerText: z.string() });

export const ProblemResponse = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

export const OnboardingResponse = z.object({ caseId: z.string(), status: z.enum(CASE_STATUSES) });

export const TimelineEntryView = z.object({
  seq: z.number().int(),
  at: z.string(),
  source: z.enum(['api', 'webhook', 'poll', 'operator', 'system']),
  event: z.string(),
  from: z.enum(CASE_STATUSES).nullable(),
  to: z.enum(CASE_STATUSES),
  reasons: z.array(ReasonView).optional(),
  detail: z.string().optional(),
  prevHash: z.string(),
  hash: z.string(),
});

export const CaseResponse = z.object({
  caseId: z.string(),
  status: z.enum(CASE_STATUSES),
  provider: z.enum(PROVIDER_IDS),
  externalId: z.string(),
  providerUserId: z.string().nullable(),
  providerStatus: z.string().nullable(),
  reasons: z.array(ReasonView),
  attempts: z.number().int(),
  escalation: z.object({ since: z.string(), proposedAction: z.string(), needsFields: z.array(z.string()).optional(), overdue: z.boolean() }).nullable(),
  providerErrors: z.array(z.object({ field: z.string().optional(), message: z.string() })),
  applicantFields: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  decidedAt: z.string().nullable(),
  version: z.number().int(),
  timeline: z.array(TimelineEntryView).optional(),
});

export const CaseListResponse = z.object({ items: z.array(CaseResponse), nextCursor: z.string().nullable() });

export const AcceptedResponse = z.object({ caseId: z.string(), status: z.enum(CASE_STATUSES) });

export const WebhookAck = z.object({ received: z.literal(true), duplicate: z.boolean().optional(), ignored: z.string().optional(), kept: z.boolean().optional() });
