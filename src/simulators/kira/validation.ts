/**
 * Request schemas of the Kira user endpoints, and the schema-error body Kira answers with:
 * `{"error":"Invalid request data","details":[{path,message,code}]}` (zod-3 style codes such as
 * `invalid_enum_value`, which is what Kira's API reports).
 */
import { z } from 'zod';

export const ACCOUNT_PURPOSES = [
  'receive_payments',
  'manage_professional_income',
  'make_payments',
  'manage_personal_funds',
  'investment_trading',
  'charitable_donations',
  'investment_purposes',
  'operating_a_company',
  'payments_to_friends_or_family_abroad',
  'personal_or_living_expenses',
  'purchase_goods_and_services',
  'protect_wealth',
  'receive_salary',
  'receive_payment_for_freelancing',
] as const;

export const SOURCES_OF_FUNDS = [
  'salary',
  'self_employment_income',
  'investment_proceeds',
  'savings_inheritance_gift',
  'gifts',
  'inheritance',
  'investments_loans',
  'pension_retirement',
  'sale_of_assets_real_estate',
  'savings',
  'someone_elses_funds',
] as const;

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO3 = /^[A-Z]{3}$/;
const iso3 = z.string().regex(ISO3, 'Expected an ISO 3166-1 alpha-3 country code (e.g. USA)');
const date = z.string().regex(DATE, 'Expected a date in YYYY-MM-DD format');
const text = z.string().min(1);

/**
 * `identifying_information[]` entries holding a tax id. Only the array and its `type` (`ssn`, or
 * `tax_id` for international) are documented (PROVIDERS.md §2.4); the inner names
 * `issuing_country` / `number` are inferred [INF], as in the adapter. An `ssn` issued outside the
 * USA is refused ("don't send ssn for non-US individuals").
 */
const identifyingInformation = z
  .array(
    z
      .strictObject({ type: z.enum(['ssn', 'tax_id']), issuing_country: iso3, number: text })
      .refine((e) => e.type !== 'ssn' || e.issuing_country === 'USA', {
        message: "type 'ssn' is for a US tax id; use 'tax_id' for other countries",
        path: ['type'],
      }),
  )
  .min(1, 'Expected at least one entry');

/**
 * Fields that create and PUT share (PUT writes only the ones sent): the documented ones only, so
 * that anything else is answered `400 "Unrecognized key(s)"` as Kira does ([3P]).
 */
const userFields = {
  first_name: text,
  last_name: text,
  email: z.email('Invalid email address'),
  phone: z.string().regex(/^\+?[1-9]\d{1,14}$/, 'Expected a phone number in E.164 format'),
  birth_date: date,
  gender: z.enum(['male', 'female', 'other']),
  language: z.enum(['en', 'es']),
  nationality: iso3,
  address_street: text,
  address_city: text,
  address_state: text,
  address_zip_code: text,
  address_country: iso3,
  document_type: text,
  document_number: text,
  document_country: iso3,
  identifying_information: identifyingInformation,
  source_of_funds: z.enum(SOURCES_OF_FUNDS),
  account_purpose: z.enum(ACCOUNT_PURPOSES),
  employment_status: text,
  occupation: text,
  pep_status: z.boolean(),
};

export const CreateUserSchema = z.strictObject({
  type: z.enum(['individual', 'business']).optional(),
  external_id: text,
  verification_mode: z.enum(['automatic', 'verification_link']).optional(),
  redirect_uri: z.url().optional(),
  ...z.object(userFields).partial().shape,
});
export type CreateUserBody = z.infer<typeof CreateUserSchema>;

export const UpdateUserSchema = z.strictObject(z.object(userFields).partial().shape);
export type UpdateUserBody = z.infer<typeof UpdateUserSchema>;

export const ReissueSchema = z.strictObject({
  type: z.enum(['api', 'embedded-link']),
  redirect_uri: z.url().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type ReissueBody = z.infer<typeof ReissueSchema>;

export interface ErrorDetail {
  path: string;
  message: string;
  code: string;
}

export interface SchemaErrorBody {
  error: 'Invalid request data';
  details: ErrorDetail[];
}

export type Validated<T> = { ok: true; data: T } | { ok: false; body: SchemaErrorBody };

export function schemaError(details: ErrorDetail[]): SchemaErrorBody {
  return { error: 'Invalid request data', details };
}

export function validate<T>(schema: z.ZodType<T>, input: unknown): Validated<T> {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return { ok: true, data: parsed.data };
  return { ok: false, body: schemaError(parsed.error.issues.map((i) => toDetail(i, input))) };
}

/** Create-only fields are refused by PUT before the schema runs ([3P]: 400 Invalid request data). */
export function createOnlyFieldsIn(body: unknown): ErrorDetail[] {
  if (typeof body !== 'object' || body === null) return [];
  return ['type', 'external_id']
    .filter((k) => k in body)
    .map((k) => ({
      path: k,
      message: `'${k}' can only be set when the user is created`,
      code: 'invalid_request',
    }));
}

/** Link mode needs only a minimal payload, but that minimum is required. */
export function linkModeProblems(body: CreateUserBody): ErrorDetail[] {
  if (body.verification_mode !== 'verification_link') return [];
  return (['first_name', 'last_name', 'email'] as const)
    .filter((k) => body[k] === undefined)
    .map((k) => ({ path: k, message: 'Required', code: 'invalid_type' }));
}

function toDetail(issue: z.core.$ZodIssue, input: unknown): ErrorDetail {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'invalid_value') {
    const allowed = issue.values.map((v) => `'${String(v)}'`).join(' | ');
    const received = valueAt(input, issue.path);
    return {
      path,
      message: `Invalid enum value. Expected ${allowed}, received '${String(received)}'`,
      code: 'invalid_enum_value',
    };
  }
  if (issue.code === 'unrecognized_keys') {
    return {
      path,
      message: `Unrecognized key(s) in object: ${issue.keys.map((k) => `'${k}'`).join(', ')}`,
      code: 'unrecognized_keys',
    };
  }
  if (issue.code === 'invalid_type') {
    const received = valueAt(input, issue.path);
    const message =
      received === undefined
        ? 'Required'
        : `Expected ${issue.expected}, received ${typeof received}`;
    return { path, message, code: 'invalid_type' };
  }
  if (issue.code === 'invalid_format')
    {return { path, message: issue.message, code: 'invalid_string' };}
  return { path, message: issue.message, code: issue.code };
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur = input;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}
