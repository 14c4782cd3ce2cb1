/**
 * Request schemas of `POST /b2b/users` and `PATCH /b2b/users/{user}`, transcribed from the seed
 * pages (seeds/kraken-embed-*.txt) independently of the adapter's tables, so that a mistake in one
 * is caught by the other. Error body [INF] (Embed's envelope is [UNKNOWN]): classic Kraken style,
 * one entry per problem, `{"error":["EGeneral:Invalid arguments:residence.country", ...]}`.
 */
import { z } from 'zod';

/** The seed's country enum, verbatim (ISO 3166-1 alpha-2 plus Kraken's extras). */
export const COUNTRIES = (
  'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS ' +
  'BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE ' +
  'EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM ' +
  'HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC ' +
  'LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA ' +
  'NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW ' +
  'SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO ' +
  'TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW AC AN AP CP DG EA EU ' +
  'IC JX TA QO XK 0C'
).split(' ') as [string, ...string[]];

export const OCCUPATIONS = [
  'agriculture',
  'business_management',
  'computers_and_it',
  'construction',
  'education',
  'finance',
  'government',
  'healthcare',
  'hospitality',
  'manufacturing',
  'marketing',
  'media',
  'other',
  'science',
  'self_employed',
  'student',
  'transportation',
  'unemployed',
  'employed',
] as const;

const text = z.string().min(1);
const country = z.enum(COUNTRIES);
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const int32 = z.number().int().min(-2_147_483_648).max(2_147_483_647);
const phone = z.string().regex(/^\+?[1-9]\d{1,14}$/);

// Which inner fields of the objects are required is not on the page; the sample lists
// first_name/last_name and line1/city/postal_code/country first, so those are [INF] required.
const fullName = z.strictObject({
  first_name: text,
  last_name: text,
  middle_name: z.string().nullish(),
});
const residence = z.strictObject({
  line1: text,
  line2: z.string().nullish(),
  city: text,
  postal_code: text,
  province: z.string().nullish(),
  country,
});
const taxId = z.strictObject({ id: text, issuing_country: country });
const clientIdentifier = z.strictObject({
  type: z.literal('concat'),
  value: text,
  calculated_at: z.iso.datetime(),
});

const optional = {
  employer_name: z.string().nullish(),
  client_identifier: clientIdentifier.nullish(),
  city_of_birth: z.string().nullish(),
  country_of_birth: country.nullish(),
  tax_ids: z.array(taxId).nullish(),
  language: z.string().nullish(),
};

export const CreateUserSchema = z.strictObject({
  email: z.email(),
  external_id: text,
  tos_version_accepted: int32,
  full_name: fullName,
  date_of_birth: date,
  residence,
  phone,
  nationalities: z.array(country).min(1),
  occupation: z.enum(OCCUPATIONS),
  ...optional,
});
export type CreateUserBody = z.infer<typeof CreateUserSchema>;

/** PATCH: the profile fields without `email` / `external_id` (they are refused), all nullable. */
export const UpdateUserSchema = z.strictObject({
  tos_version_accepted: int32.nullish(),
  full_name: fullName.nullish(),
  date_of_birth: date.nullish(),
  residence: residence.nullish(),
  phone: phone.nullish(),
  nationalities: z.array(country).nullish(),
  occupation: z.enum(OCCUPATIONS).nullish(),
  ...optional,
});

/**
 * `POST /b2b/verifications/{user}` `metadata` (a JSON string in the multipart form, PROVIDERS.md
 * §1.5). Which fields are required is not documented: for `identity_document` the document fields
 * are [INF] required; the rest is optional and checked for type only.
 */
export const VERIFICATION_TYPES = ['identity_document', 'document', 'selfie'] as const;
const identityMeta = z.looseObject({
  identity: z
    .looseObject({
      full_name: z.looseObject({ first_name: text, last_name: text }).optional(),
      date_of_birth: date.optional(),
    })
    .optional(),
  document_type: text,
  document_number: text,
  issuing_country: country,
  expiration_date: date.optional(),
  nationality: country.optional(),
  verifier: z.string().optional(),
  verified_at: z.iso.datetime().optional(),
  external_verification_id: text.optional(),
});
const otherMeta = z.looseObject({
  verified_at: z.iso.datetime().optional(),
  external_verification_id: text.optional(),
});
export const verificationMetadataSchema = (type: (typeof VERIFICATION_TYPES)[number]) =>
  type === 'identity_document' ? identityMeta : otherMeta;

/** The event types a webhook can subscribe to (§1.8 `available_events`). */
export const AVAILABLE_EVENTS = [
  'custom_order.executed',
  'custom_order.execution_failed',
  'custom_order.cancelled',
  'quote.executed',
  'quote.execution_failed',
  'quote.cancelled',
  'reward.paid',
  'user.verified',
  'user.closed',
  'user.disabled',
  'deposit.status_updated',
  'withdrawal.status_updated',
] as const;

/**
 * Webhook URL rules (§1.8): HTTPS, at most 2048 characters, no credentials. The simulator also
 * takes plain HTTP to a loopback host, because it runs beside its receiver on one machine; the
 * domain allowlist is not simulated.
 */
const webhookUrl = z
  .string()
  .max(2048)
  .refine((s) => {
    if (!URL.canParse(s)) return false;
    const u = new URL(s);
    if (u.username !== '' || u.password !== '') return false;
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
    return u.protocol === 'https:' || (u.protocol === 'http:' && loopback);
  });
const events = z.array(z.enum(AVAILABLE_EVENTS));
export const CreateWebhookSchema = z.strictObject({
  url: webhookUrl,
  enabled: z.boolean().optional(),
  events: events.optional(),
});
/** Update: `enabled` and `events`; the events list replaces the subscriptions. */
export const UpdateWebhookSchema = z.strictObject({
  enabled: z.boolean().optional(),
  events: events.optional(),
});

export function krakenError(...codes: string[]): { error: string[] } {
  return { error: codes };
}

function issuePaths(issue: z.core.$ZodIssue): string[] {
  const base = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => (base ? `${base}.${k}` : k));
  return [base || 'body'];
}

export type Validated<T> = { ok: true; data: T } | { ok: false; body: { error: string[] } };

export function validate<T>(schema: z.ZodType<T>, body: unknown): Validated<T> {
  const r = schema.safeParse(body);
  if (r.success) return { ok: true, data: r.data };
  const paths = [...new Set(r.error.issues.flatMap(issuePaths))];
  return { ok: false, body: krakenError(...paths.map((p) => `EGeneral:Invalid arguments:${p}`)) };
}
