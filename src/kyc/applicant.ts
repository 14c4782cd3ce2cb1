import { z } from 'zod';

const iso2 = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code (e.g. "DE")');
const date = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
  .refine((s) => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return true; // reported by the regex above
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
  }, 'is not a calendar date');

export const AddressSchema = z.object({
  line1: z.string().min(1).max(200),
  line2: z.string().max(200).optional(),
  city: z.string().min(1).max(100),
  postalCode: z.string().min(1).max(20),
  region: z.string().max(100).optional(),
  country: iso2,
}).strict();

/**
 * The canonical, provider-neutral applicant. Only `externalId` is required here: what each
 * provider needs for automatic verification is checked by that provider's preflight.
 */
export const ApplicantSchema = z
  .object({
    externalId: z.string().min(1).max(128).regex(/^[\w.@-]+$/, 'letters, digits, _ . @ - only'),
    email: z.email().optional(),
    phone: z.string().regex(/^\+[1-9]\d{1,14}$/, 'must be E.164 (e.g. +4915112345678)').optional(),
    firstName: z.string().min(1).max(100).optional(),
    lastName: z.string().min(1).max(100).optional(),
    middleName: z.string().min(1).max(100).optional(),
    dateOfBirth: date.optional(),
    gender: z.enum(['male', 'female', 'other']).optional(),
    language: z.string().min(2).max(5).optional(),
    nationalities: z.array(iso2).min(1).max(5).optional(),
    countryOfBirth: iso2.optional(),
    cityOfBirth: z.string().min(1).max(100).optional(),
    address: AddressSchema.optional(),
    taxIds: z.array(z.object({ id: z.string().min(1).max(64), country: iso2 }).strict()).max(5).optional(),
    occupation: z.string().min(1).max(64).optional(),
    employerName: z.string().min(1).max(200).optional(),
    employmentStatus: z.string().min(1).max(64).optional(),
    sourceOfFunds: z.string().min(1).max(64).optional(),
    accountPurpose: z.string().min(1).max(64).optional(),
    incomeRange: z.string().min(1).max(64).optional(),
    industry: z.string().min(1).max(64).optional(),
    sourcesOfWealth: z.array(z.string().min(1).max(64)).max(10).optional(),
    identityDocument: z
      .object({
        type: z.enum(['passport', 'id_card', 'drivers_license', 'residence_permit']),
        number: z.string().min(1).max(64),
        country: iso2,
        expiresOn: date.optional(),
      })
      .strict()
      .optional(),
    pep: z.boolean().optional(),
    tosVersionAccepted: z.number().int().min(1).optional(),
  })
  .strict();

export type Applicant = z.infer<typeof ApplicantSchema>;

/** A partial update sent by the partner (`PATCH /v1/cases/:id/applicant`); externalId is fixed. */
export const ApplicantPatchSchema = ApplicantSchema.omit({ externalId: true }).partial().strict();
export type ApplicantPatch = z.infer<typeof ApplicantPatchSchema>;

/** Reads a dotted path (`address.city`) of the applicant. */
export function getField(a: Applicant, path: string): unknown {
  let cur: unknown = a;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

export function hasField(a: Applicant, path: string): boolean {
  const v = getField(a, path);
  if (v === undefined || v === null || v === '') return false;
  return !(Array.isArray(v) && v.length === 0);
}

/** Shallow-merges a patch; nested objects (`address`, `identityDocument`) are replaced whole. */
export function mergeApplicant(a: Applicant, patch: ApplicantPatch): Applicant {
  return { ...a, ...patch, externalId: a.externalId };
}

/**
 * Paths that hold personal data. Loggers redact these by construction: the list is derived from
 * the schema's keys, so a new field is redacted without anyone remembering to add it.
 */
export const APPLICANT_FIELDS: readonly string[] = Object.keys(ApplicantSchema.shape);
