/**
 * `POST /users` validation per schema version (PROVIDERS.md §5 rule 18), answered with field-level
 * errors. The error body shape is [INF] (NestJS-like, as the adapter's `inferred.ts` expects):
 * `{"statusCode":400,"error":"Bad Request","message":"Validation failed","errors":[{field,message}]}`.
 * Unknown properties are refused, so an older-schema simulator rejects newer-schema fields [INF].
 */
import { z } from 'zod';
import type { WealthyhoodSchema } from './types.js';

export const LANGUAGES = ['en', 'el'] as const;
export const INDUSTRY_REQUIRED_FOR: readonly string[] = ['FullTime', 'PartTime', 'SelfEmployed'];

const ISO2 = /^[A-Z]{2}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

const text = z.string().min(1, 'should not be empty');
const name = z.string().min(1, 'must be 1-100 characters').max(100, 'must be 1-100 characters');
const iso2 = z.string().regex(ISO2, 'must match pattern ^[A-Z]{2}$');
const date = z
  .string()
  .regex(DATE, 'must be a date YYYY-MM-DD')
  .refine((s) => !Number.isNaN(Date.parse(s)), 'must be a valid date');

/** When provided, `line1`, `city`, `postalCode` and `countryCode` are required. */
const Address = z.strictObject({
  line1: text,
  line2: z.string().optional(),
  city: text,
  postalCode: text,
  countryCode: iso2,
});

/** When provided, `countryCode`, `proofType` and `value` are required (`proofType` enum [UNKNOWN]). */
const TaxResidency = z.strictObject({ countryCode: iso2, proofType: text, value: text });

/** When provided, `incomeRangeId`, `employmentStatus`, `sourcesOfWealth`; `industry` conditionally. */
export const EmploymentInfo = z.strictObject({
  incomeRangeId: text,
  employmentStatus: text,
  sourcesOfWealth: z.array(text).min(1, 'should not be empty'),
  industry: text.optional(),
});

const V1 = {
  email: z.email('must be an email'),
  firstName: name,
  lastName: name,
  dateOfBirth: date,
  residencyCountry: iso2,
  address: Address.optional(),
  taxResidency: TaxResidency.optional(),
};

export const CREATE_SCHEMAS = {
  v1: z.strictObject(V1),
  v2: z.strictObject({
    ...V1,
    language: z.enum(LANGUAGES, 'must be one of: en, el').optional(),
    nationality: iso2.optional(),
    employmentInfo: EmploymentInfo.optional(),
  }),
} as const;

export const EmploymentInfoPatch = z.strictObject({ employmentInfo: EmploymentInfo });

export interface FieldError {
  field: string;
  message: string;
}

export interface ValidationErrorBody {
  statusCode: 400;
  error: 'Bad Request';
  message: 'Validation failed';
  errors: FieldError[];
}

export type Validated<T> = { ok: true; data: T } | { ok: false; body: ValidationErrorBody };

export function validationError(errors: FieldError[]): ValidationErrorBody {
  return { statusCode: 400, error: 'Bad Request', message: 'Validation failed', errors };
}

/** Validates and reports every problem at once, including the conditional `industry` rule. */
export function validate<T>(
  schema: z.ZodType<T>,
  input: unknown,
  employmentAt?: string,
): Validated<T> {
  const parsed = schema.safeParse(input ?? {});
  const errors = parsed.success ? [] : parsed.error.issues.flatMap(toFieldErrors);
  if (employmentAt !== undefined) {
    for (const e of industryErrors(input, employmentAt)) {
      if (!errors.some((x) => x.field === e.field)) errors.push(e);
    }
  }
  if (parsed.success && errors.length === 0) return { ok: true, data: parsed.data };
  return { ok: false, body: validationError(errors) };
}

export function validateCreate(
  version: WealthyhoodSchema,
  input: unknown,
): Validated<Record<string, unknown>> {
  return validate(CREATE_SCHEMAS[version], input, version === 'v2' ? 'employmentInfo' : undefined);
}

function industryErrors(input: unknown, at: string): FieldError[] {
  const info = (input as Record<string, unknown> | null | undefined)?.[at];
  if (info === null || typeof info !== 'object') return [];
  const { employmentStatus, industry } = info as Record<string, unknown>;
  if (typeof employmentStatus !== 'string' || !INDUSTRY_REQUIRED_FOR.includes(employmentStatus)) {
    return [];
  }
  if (typeof industry === 'string' && industry.length > 0) return [];
  return [
    {
      field: `${at}.industry`,
      message: `industry is required when employmentStatus is ${INDUSTRY_REQUIRED_FOR.join(', ')}`,
    },
  ];
}

function toFieldErrors(issue: z.core.$ZodIssue): FieldError[] {
  const path = issue.path.map(String);
  const field = path.join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => ({
      field: [...path, k].join('.'),
      message: `property ${k} should not exist`,
    }));
  }
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
    return [{ field, message: `${path.at(-1) ?? 'body'} is required` }];
  }
  if (issue.code === 'invalid_type') return [{ field, message: `must be a ${issue.expected}` }];
  return [{ field, message: issue.message }];
}
