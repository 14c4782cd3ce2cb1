/**
 * ⚠ INFERRED CONTRACT: every part of the Wealthyhood API this adapter relies on that the public
 * docs do NOT state (PROVIDERS.md §3, tags [INF] / [UNKNOWN]) lives in this one file, so that it is
 * easy to correct once Wealthyhood confirms the real behaviour. Nothing else in
 * `src/providers/wealthyhood/` hard-codes any of it.
 *
 * Documented (and therefore NOT here): the Auth0 token request and response, `POST /users` with
 * both schema versions and their field rules, the 24-hex ObjectId `id`, the `x-user-id` header,
 * `read:users`, and the older schema's `kycStatus` values `pending | failed | passed`.
 *
 * Inferred (here):
 * 1. GET user: `GET /users/me` with `x-user-id` (the documented pattern of user-scoped routes such
 *    as `PATCH /users/me/employment-info`), answering the create-response user object, which
 *    carries `kycStatus` in BOTH schema versions (the newer create response does not list it).
 * 2. The user object may name its id `_id` (as the test endpoints do) instead of `id`.
 * 3. Failure reasons: `kycFailureReasons` (string[]) on a failed user; also read from a few
 *    plausible alternative names.
 * 4. Lookup by email: `GET /users?email=<email>`, answering a list (bare array or wrapped).
 * 5. Error bodies: `{message, errors: [{field, message}]}` (NestJS-like); also `details`,
 *    `path`/`property`, and `message` as an array of strings.
 * 6. Duplicate email: 409, or 400/422 whose body names the email as already existing.
 * 7. `taxResidency.proofType`: its enum is [UNKNOWN]; we send `TIN` (tax identification number).
 * 8. The older schema's `address` / `taxResidency` sub-fields are the newer schema's.
 * 9. `employmentInfo` in the newer schema: the docs disagree ("Required on create user" vs
 *    "optional"); we treat it as required for automatic verification.
 * 10. Scope of write routes: `write:users` (Auth0 style); rate limit: [UNKNOWN], 10 req/s assumed.
 * 11. Lookup by email answering 404, 405 or 501 means the route is not there (cannot adopt), not
 *     "no such user" (an empty list says that).
 * 12. A token answer without `expires_in` (the docs show it always, integer ≥ 1) lives 3600 s, the
 *     value of the docs' example.
 * 13. A failed user without any of the reason fields of (3): the reason says so and points at
 *     Wealthyhood (there is no webhook that could have carried the reasons).
 */
import { z } from 'zod';

/** (1) The user's own resource, addressed by the `x-user-id` header. */
export const GET_USER = { method: 'GET', path: '/users/me', scope: 'read:users' } as const;

/** (4) Lookup of existing users by email (for adopting a user a retried create already made). */
export function findByEmailPath(email: string): string {
  return `/users?email=${encodeURIComponent(email)}`;
}

/** (10) Scopes per operation, for clearer 403 messages only (the token carries what it was granted). */
export const SCOPE_FOR: Readonly<Record<string, string>> = {
  create_user: 'write:users',
  get_user: GET_USER.scope,
  find_user: 'read:users',
};

/** (11) Statuses of the email lookup that mean the lookup route itself is missing. */
export const LOOKUP_UNSUPPORTED_STATUSES: ReadonlySet<number> = new Set([404, 405, 501]);

/** (12) Lifetime of a token whose answer has no `expires_in`, in seconds. */
export const DEFAULT_TOKEN_EXPIRES_IN_S = 3600;

/** (13) The reason text of `kycStatus: failed` without reasons. */
export const FAILED_WITHOUT_REASONS =
  'Wealthyhood reports kycStatus failed without a reason (Wealthyhood has no webhooks, and the user record names none): ask Wealthyhood why';

/** (10) Queue limiter: Wealthyhood's rate limits are [UNKNOWN]. */
export const RATE_LIMIT = { max: 10, durationMs: 1000 } as const;

/** (7) Sent as `taxResidency.proofType` with the first canonical tax id. */
export const DEFAULT_PROOF_TYPE = 'TIN';

/** (8) Schema versions that send the nested `address.*` / `taxResidency.*` sub-fields. */
export const NESTED_OBJECT_VERSIONS: ReadonlyArray<'v1' | 'v2'> = ['v1', 'v2'];

/** (9) Whether preflight demands `employmentInfo` in the newer schema. */
export const EMPLOYMENT_INFO_REQUIRED_IN_V2 = true;

const ReasonItem = z.union([
  z.string(),
  z.looseObject({ reason: z.string() }).transform((o) => o.reason),
  z.looseObject({ message: z.string() }).transform((o) => o.message),
  z.looseObject({ code: z.string() }).transform((o) => o.code),
]);
const Reasons = z.union([z.array(ReasonItem), ReasonItem.transform((r) => [r])]);

/** (1)(2)(3) The user object as GET user, create and lookup answer it. */
export const UserRecord = z
  .looseObject({
    id: z.string().optional(),
    _id: z.string().optional(),
    email: z.string().optional(),
    firstName: z.string().optional(),
    lastName: z.string().optional(),
    dateOfBirth: z.string().optional(),
    kycStatus: z.string().optional(),
    kycFailureReasons: Reasons.optional(),
    kycFailureReason: Reasons.optional(),
    failureReasons: Reasons.optional(),
  })
  .transform((u) => ({
    id: u.id ?? u._id,
    email: u.email,
    firstName: u.firstName,
    lastName: u.lastName,
    dateOfBirth: u.dateOfBirth,
    kycStatus: u.kycStatus,
    failureReasons: (u.kycFailureReasons ?? u.kycFailureReason ?? u.failureReasons ?? []).filter(
      (r) => r.trim().length > 0,
    ),
  }));
export type UserRecord = z.output<typeof UserRecord>;

/** A user object that may be wrapped in `{user}` or `{data}`. */
export function readUserRecord(json: unknown): UserRecord | undefined {
  const direct = UserRecord.safeParse(unwrap(json, ['user', 'data']));
  return direct.success ? direct.data : undefined;
}

/** (4) The users of a lookup answer: a bare array or `{users|data|items|results: [...]}`. */
export function readUserList(json: unknown): UserRecord[] {
  const list = unwrap(json, ['users', 'data', 'items', 'results']);
  if (!Array.isArray(list)) return [];
  return list.flatMap((item) => {
    const parsed = UserRecord.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  });
}

function unwrap(json: unknown, keys: readonly string[]): unknown {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return json;
  const obj = json as Record<string, unknown>;
  for (const k of keys) {
    if (k in obj && obj[k] !== null && typeof obj[k] === 'object') return obj[k];
  }
  return json;
}

/** (5) One error body, reduced to what the adapter uses. Texts are raw: scrub before use. */
export interface ParsedErrorBody {
  message?: string;
  code?: string;
  fieldErrors: Array<{ field?: string; message: string }>;
}

const FieldPath = z.union([z.string(), z.array(z.union([z.string(), z.number()]))]);
const FieldError = z.looseObject({
  field: FieldPath.optional(),
  path: FieldPath.optional(),
  property: FieldPath.optional(),
  param: FieldPath.optional(),
  message: z.string().optional(),
  msg: z.string().optional(),
});
const ErrorBody = z.looseObject({
  message: z.union([z.string(), z.array(z.string())]).optional(),
  error: z.union([z.string(), z.looseObject({ message: z.string().optional() })]).optional(),
  code: z.union([z.string(), z.number()]).optional(),
  errors: z.array(FieldError).optional(),
  details: z.array(FieldError).optional(),
});

export function parseErrorBody(json: unknown): ParsedErrorBody {
  const parsed = ErrorBody.safeParse(json);
  if (!parsed.success) return { fieldErrors: [] };
  const b = parsed.data;
  const fieldErrors = [...(b.errors ?? []), ...(b.details ?? [])].map((e) => {
    const raw = e.field ?? e.path ?? e.property ?? e.param;
    const field = Array.isArray(raw) ? raw.join('.') : raw;
    const message = e.message ?? e.msg ?? 'invalid';
    return field ? { field, message } : { message };
  });
  // NestJS answers validation failures as `message: ["employmentInfo.industry should not be empty"]`.
  if (Array.isArray(b.message)) {
    for (const m of b.message) fieldErrors.push({ field: m.split(/\s/)[0], message: m });
  }
  const message =
    typeof b.message === 'string'
      ? b.message
      : typeof b.error === 'string'
        ? b.error
        : b.error?.message;
  const code = b.code === undefined ? undefined : String(b.code);
  return { ...(message ? { message } : {}), ...(code ? { code } : {}), fieldErrors };
}

const EXISTS = /already|exist|duplicate|taken|unique|in use|registered/i;

/** (6) Whether a `POST /users` answer means "a user with this email already exists". */
export function isDuplicateEmail(status: number, body: ParsedErrorBody): boolean {
  if (status === 409) return true;
  if (status !== 400 && status !== 422) return false;
  if (body.fieldErrors.some((e) => e.field === 'email' && EXISTS.test(e.message))) return true;
  return body.message !== undefined && /e-?mail/i.test(body.message) && EXISTS.test(body.message);
}
