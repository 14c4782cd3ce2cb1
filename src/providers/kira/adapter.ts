/**
 * The Kira provider adapter (PROVIDERS.md §2): create with a caller-fixed Idempotency-Key and
 * adoption on 409, status gating on `status`, remediation by PUT + re-issued verification,
 * webhook verification and normalisation.
 */
import { hasField, type Applicant } from '../../kyc/applicant.js';
import type { ReasonMapper } from '../../kyc/reasons.js';
import type { Reason } from '../../kyc/types.js';
import type { Clock } from '../../lib/clock.js';
import type { FetchFn, HttpObserver } from '../../lib/http.js';
import { PermanentError, RetryableError } from '../errors.js';
import type {
  ProviderAdapter,
  ProviderUser,
  ProviderUserState,
  RemediationInput,
} from '../provider-adapter.js';
import { adoptOwnUser } from './adopt.js';
import { createKiraClient, isOk, type KiraClient } from './client.js';
import { kiraFieldsFor, kiraValue, type KiraField } from './fields.js';
import { buildCreatePayload, buildUpdatePayload } from './payload.js';
import { preflightKira, unmappableCountries } from './preflight.js';
import { mapKiraStatus } from './status.js';
import { readUser, type KiraUserRecord } from './user-record.js';
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
  /** The account's allowance (KIRA_RATE_LIMIT); default 20 requests/s, Kira's documented limit. */
  rateLimitPerSecond?: number;
}

/**
 * Kira fields to PUT: those named by `missing_data` reasons that the applicant now has, and those
 * of applicant fields supplied since Kira last received the applicant (`changed`: an operator's
 * correction, e.g. a new identity document). PUT writes only the fields sent.
 */
export function remediationFields(a: Applicant, reasons: readonly Reason[], changed: readonly string[] = []): KiraField[] {
  const out = new Map<string, KiraField>();
  const paths = [...reasons.flatMap((r) => (r.code === 'missing_data' && r.field && hasField(a, r.field) ? [r.field] : [])), ...changed];
  for (const path of paths) {
    for (const f of kiraFieldsFor(path)) {
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
    rateLimit: { max: deps.rateLimitPerSecond ?? 20, durationMs: 1000 },
    webhooks: true,
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
  // user that is positively this applicant's (adopt.ts); never create a second one.
  if (res.status === 409) return adoptOwnUser(client, a.externalId, ctx.signal);
  throw client.toError(res, 'create_user');
}

function statusOf(user: KiraUserRecord): string | undefined {
  return user.status === undefined ? undefined : mapKiraStatus(user.status).providerStatus;
}

async function remediate(
  client: KiraClient,
  input: RemediationInput,
  ctx: { idempotencyKey: string; signal: AbortSignal },
): Promise<string> {
  const steps: string[] = [];
  const fields = remediationFields(input.applicant, input.reasons, input.changedFields);
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
  steps.push(await reissue(client, input.providerUserId, ctx));
  return steps.join('; ');
}

/**
 * `POST /v1/users/{id}/verifications`, and what its answer means. The re-issue is documented for
 * "a user that came back REJECTED" (PROVIDERS.md §5 rule 14):
 * - 2xx: re-issued; 409 on our key: this re-issue happened before (an earlier answer was lost);
 * - 400/422 (the answer for another status is undocumented): when the user is no longer REJECTED
 *   (a verification is running, or was decided meanwhile, e.g. by the Kira contact), there is
 *   nothing to re-issue and the webhook or the poll decides; while it is still REJECTED, the
 *   refusal stands;
 * - anything else: classified as usual (5xx retried, 429 waited out, other 4xx permanent).
 */
async function reissue(
  client: KiraClient,
  providerUserId: string,
  ctx: { idempotencyKey: string; signal: AbortSignal },
): Promise<string> {
  const res = await client.send({
    method: 'POST',
    path: `${userPath(providerUserId)}/verifications`,
    body: { type: 'api' },
    idempotencyKey: ctx.idempotencyKey,
    operation: 'reissue_verification',
    signal: ctx.signal,
  });
  if (isOk(res)) return 'verification re-issued';
  if (res.status === 409) return 'verification already re-issued';
  const refusal = client.toError(res, 'reissue_verification');
  if (res.status !== 400 && res.status !== 422) throw refusal;
  const current = await getUser(client, providerUserId, ctx.signal);
  if (current.outcome === 'rejected') throw refusal;
  return `verification not re-issued: the Kira user is ${current.providerStatus}, no longer REJECTED`;
}
