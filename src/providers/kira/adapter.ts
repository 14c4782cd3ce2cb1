/**
 * The Kira provider adapter (PROVIDERS.md §2): create with a caller-fixed Idempotency-Key and
 * adoption on 409, status gating on `status`, remediation by PUT + re-issued verification,
 * webhook verification and normalisation.
 */
import { z } from 'zod';
import { hasField, type Applicant } from '../../kyc/applicant.js';
import type { ReasonMapper } from '../../kyc/reasons.js';
import type { Reason } from '../../kyc/types.js';
import type { Clock } from '../../lib/clock.js';
import type { FetchFn, HttpObserver, HttpResponse } from '../../lib/http.js';
import { PermanentError, RetryableError } from '../errors.js';
import type {
  ProviderAdapter,
  ProviderUser,
  ProviderUserState,
  RemediationInput,
} from '../provider-adapter.js';
import { createKiraClient, isOk, type KiraClient } from './client.js';
import { kiraFieldsFor, kiraValue, type KiraField } from './fields.js';
import { buildCreatePayload, buildUpdatePayload } from './payload.js';
import { preflightKira, unmappableCountries } from './preflight.js';
import { mapKiraStatus } from './status.js';
import { parseKiraWebhook, verifyKiraSignature } from './webhook.js';

export interface KiraAdapterDeps {
  baseUrl: string;
  apiKey: string;
  clientId: string;
  password: string;
  /** Newest first; every one is accepted (rotation). */
  webhookSecrets: string[];
  fetch?: FetchFn;
  clock: Clock;
  reasons: ReasonMapper;
  /** Per-call timeout; default 10 000 ms. */
  timeoutMs?: number;
  observe?: HttpObserver;
  /** A 429 with a Retry-After up to this long is waited out once in-process (default 0). */
  maxRateLimitWaitMs?: number;
}

const UserRecord = z.looseObject({
  user_id: z.string().min(1).optional(),
  id: z.string().min(1).optional(),
  status: z.string().min(1).optional(),
  external_id: z.string().optional(),
});
type UserRecord = z.infer<typeof UserRecord>;

/** Kira may or may not wrap bodies in `{message, data}`; accept both. */
function unwrap(json: unknown): unknown {
  if (json !== null && typeof json === 'object' && !Array.isArray(json) && 'data' in json) {
    return json.data;
  }
  return json;
}

function readUser(res: HttpResponse, operation: string): UserRecord & { userId: string } {
  const parsed = UserRecord.safeParse(unwrap(res.json));
  const userId = parsed.success ? (parsed.data.user_id ?? parsed.data.id) : undefined;
  if (!parsed.success || userId === undefined) {
    throw new RetryableError(
      `Kira ${operation} answered HTTP ${res.status} without a user id`,
      res.status,
    );
  }
  return { ...parsed.data, userId };
}

/** The first listed user, if it is really ours (a list that ignored the filter is not trusted). */
function firstListed(
  json: unknown,
  externalId: string,
): (UserRecord & { userId: string }) | undefined {
  const body = unwrap(json);
  const nested = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const list: unknown = Array.isArray(body)
    ? body
    : (nested.users ?? nested.items ?? nested.results);
  if (!Array.isArray(list)) return undefined;
  const parsed = UserRecord.safeParse(list[0]);
  if (!parsed.success) return undefined;
  const userId = parsed.data.user_id ?? parsed.data.id;
  if (userId === undefined) return undefined;
  if (parsed.data.external_id !== undefined && parsed.data.external_id !== externalId) {
    return undefined;
  }
  return { ...parsed.data, userId };
}

/** Kira fields to PUT: those named by `missing_data` reasons that the applicant now has. */
export function remediationFields(a: Applicant, reasons: readonly Reason[]): KiraField[] {
  const out = new Map<string, KiraField>();
  for (const r of reasons) {
    if (r.code !== 'missing_data' || !r.field || !hasField(a, r.field)) continue;
    for (const f of kiraFieldsFor(r.field)) {
      if (!f.createOnly && kiraValue(a, f) !== undefined) out.set(f.kira, f);
    }
  }
  return [...out.values()];
}

const userPath = (id: string): string => `/v1/users/${encodeURIComponent(id)}`;

export function createKiraAdapter(deps: KiraAdapterDeps): ProviderAdapter {
  const client = createKiraClient(deps);
  return {
    id: 'kira',
    rateLimit: { max: 20, durationMs: 1000 },
    preflight: preflightKira,
    createUser: (a, ctx) => createUser(client, a, ctx),
    getUser: (providerUserId, ctx) => getUser(client, providerUserId, ctx.signal),
    remediate: (input, ctx) => remediate(client, input, ctx),
    verifyWebhook: (raw) => verifyKiraSignature(raw, deps.webhookSecrets),
    parseWebhook: (body) => parseKiraWebhook(body, deps.reasons),
  };
}

async function getUser(
  client: KiraClient,
  providerUserId: string,
  signal: AbortSignal,
): Promise<ProviderUserState> {
  const path = userPath(providerUserId);
  const res = await client.send({ method: 'GET', path, operation: 'get_user', signal });
  if (!isOk(res)) throw client.toError(res, 'get_user');
  const user = readUser(res, 'get_user');
  if (user.status === undefined) {
    throw new RetryableError('Kira get_user answered without a status', res.status);
  }
  // Gate on `status` only; GET never carries the rejection reasons (the webhook does).
  const m = mapKiraStatus(user.status);
  const { providerStatus, outcome, terminal } = m;
  return { providerUserId: user.userId, providerStatus, outcome, terminal, reasons: [] };
}

async function createUser(
  client: KiraClient,
  a: Applicant,
  ctx: { idempotencyKey: string; signal: AbortSignal },
): Promise<ProviderUser> {
  const unmappable = unmappableCountries(a);
  if (unmappable.length > 0) {
    throw new PermanentError(
      'Kira create_user not sent: a country has no ISO-3 code',
      undefined,
      unmappable,
    );
  }
  const res = await client.send({
    method: 'POST',
    path: '/v1/users',
    body: buildCreatePayload(a),
    idempotencyKey: ctx.idempotencyKey,
    operation: 'create_user',
    signal: ctx.signal,
  });
  if (isOk(res)) {
    const user = readUser(res, 'create_user');
    return { providerUserId: user.userId, providerStatus: statusOf(user), adopted: false };
  }
  // 409: the key was used before (e.g. the create committed and its answer was lost). Adopt the
  // user that exists for this external_id; never create a second one.
  if (res.status === 409) return adopt(client, a.externalId, ctx.signal);
  throw client.toError(res, 'create_user');
}

async function adopt(
  client: KiraClient,
  externalId: string,
  signal: AbortSignal,
): Promise<ProviderUser> {
  const query = `external_id=${encodeURIComponent(externalId)}&limit=1`;
  const res = await client.send({
    method: 'GET',
    path: `/v1/users?${query}`,
    operation: 'find_user',
    signal,
  });
  if (!isOk(res)) throw client.toError(res, 'find_user');
  const user = firstListed(res.json, externalId);
  if (!user) {
    throw new PermanentError(
      'Kira create_user answered 409 (idempotency key reused) and no user with this external_id exists; not creating a second user',
      409,
    );
  }
  return { providerUserId: user.userId, providerStatus: statusOf(user), adopted: true };
}

function statusOf(user: UserRecord): string | undefined {
  return user.status === undefined ? undefined : mapKiraStatus(user.status).providerStatus;
}

async function remediate(
  client: KiraClient,
  input: RemediationInput,
  ctx: { idempotencyKey: string; signal: AbortSignal },
): Promise<string> {
  const steps: string[] = [];
  const fields = remediationFields(input.applicant, input.reasons);
  if (fields.length > 0) {
    const body = buildUpdatePayload(input.applicant, fields);
    const res = await client.send({
      method: 'PUT',
      path: userPath(input.providerUserId),
      body,
      operation: 'update_user',
      signal: ctx.signal,
    });
    if (!isOk(res)) throw client.toError(res, 'update_user');
    steps.push(`PUT ${Object.keys(body).join(', ')}`);
  }
  const res = await client.send({
    method: 'POST',
    path: `${userPath(input.providerUserId)}/verifications`,
    body: { type: 'api' },
    idempotencyKey: ctx.idempotencyKey,
    operation: 'reissue_verification',
    signal: ctx.signal,
  });
  // 409 on the re-issue key: this re-issue already happened (an earlier attempt's answer was lost).
  if (res.status === 409) steps.push('verification already re-issued');
  else if (isOk(res)) steps.push('verification re-issued');
  else throw client.toError(res, 'reissue_verification');
  return steps.join('; ');
}
