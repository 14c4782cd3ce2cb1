/**
 * The Kraken Embed provider adapter (PROVIDERS.md §1): signed calls with a coordinated nonce,
 * create with `external_id` as the only dedupe key (adopt on a duplicate answer, never create
 * twice), status from `GET /b2b/users/{user}` (`required_actions` carry rejections and deadlines),
 * remediation by a PATCH of the changed fields, webhook verification and normalisation.
 */
import { z } from 'zod';
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
import { createKrakenClient, isOk, userPath, type KrakenClient } from './client.js';
import { krakenFieldsFor, krakenValue, topLevel } from './fields.js';
import { createLocalNonceSource, type KrakenNonceSource } from './nonce.js';
import { buildCreatePayload, buildUpdatePayload } from './payload.js';
import { preflightKraken } from './preflight.js';
import { describeKrakenError, isDuplicateExternalId } from './problems.js';
import { mapKrakenStatus } from './status.js';
import { mapKrakenReason, parseKrakenWebhook, verifyKrakenSignature } from './webhook.js';

export interface KrakenAdapterDeps {
  baseUrl: string;
  apiKey: string;
  /** Base64, as Kraken issues it. */
  apiSecret: string;
  /** Base64, newest first; every one is accepted (rotation). */
  webhookSecrets: string[];
  /**
   * Issues `API-Nonce` and orders the calls per API key. Several processes sharing a key need the
   * Redis source (`src/store/nonce.ts`); the default only coordinates this process.
   */
  nonces?: KrakenNonceSource;
  fetch?: FetchFn;
  clock: Clock;
  reasons: ReasonMapper;
  /** Per-call timeout; default 10 000 ms. */
  timeoutMs?: number;
  observe?: HttpObserver;
}

/** Embed's limits are [UNKNOWN]; 20 calls/s per account is our assumption [INF]. */
export const KRAKEN_RATE_LIMIT = { max: 20, durationMs: 1000 } as const;

/** IIBAN: 14–42 characters (the path parameter's documented length). */
const Iiban = z.string().min(14).max(42);
const CreatedBody = z.looseObject({ result: z.looseObject({ user: Iiban }) });
const UserBody = z.looseObject({
  result: z.looseObject({
    user: Iiban,
    status: z.looseObject({
      state: z.string().min(1),
      reasons: z.array(z.string()).optional(),
      required_actions: z
        .array(
          z.looseObject({
            action_type: z.string().optional(),
            verification_type: z.string().optional(),
            reasons: z.array(z.string()).optional(),
            deadline: z.string().optional(),
            wait_reason_code: z.string().optional(),
          }),
        )
        .nullish()
        .transform((v) => v ?? []),
    }),
  }),
});

export function createKrakenAdapter(deps: KrakenAdapterDeps): ProviderAdapter {
  const client = createKrakenClient({
    ...deps,
    nonces: deps.nonces ?? createLocalNonceSource(deps.clock),
  });
  return {
    id: 'kraken',
    rateLimit: KRAKEN_RATE_LIMIT,
    preflight: preflightKraken,
    createUser: (a, ctx) => createUser(client, a, ctx.signal),
    getUser: (iiban, ctx) => getUser(client, deps.reasons, iiban, ctx.signal),
    remediate: (input, ctx) => remediate(client, input, ctx.signal),
    verifyWebhook: (raw, now) => verifyKrakenSignature(raw, deps.webhookSecrets, now),
    parseWebhook: (body) => parseKrakenWebhook(body, deps.reasons),
  };
}

/**
 * `POST /b2b/users`. Embed has no idempotency header: `external_id` (our externalId) is the dedupe
 * key, so a create retried after a timeout whose first attempt committed gets a duplicate answer.
 * We adopt the IIBAN it carries; without one we stop (PermanentError → the case escalates): there
 * is no endpoint to look a user up by external_id, and creating again is never an option.
 */
async function createUser(
  client: KrakenClient,
  a: Applicant,
  signal: AbortSignal,
): Promise<ProviderUser> {
  const res = await client.send({
    method: 'POST',
    path: '/b2b/users',
    body: buildCreatePayload(a),
    operation: 'create_user',
    signal,
  });
  if (isOk(res)) {
    const body = CreatedBody.safeParse(res.json);
    if (!body.success) {
      throw new RetryableError(
        `Kraken create_user answered HTTP ${res.status} without an IIBAN`,
        res.status,
      );
    }
    return { providerUserId: body.data.result.user, providerStatus: 'onboarding', adopted: false };
  }
  const problem = describeKrakenError(res.json);
  if (!isDuplicateExternalId(res.status, problem)) throw client.toError(res, 'create_user');
  const existing = CreatedBody.safeParse(res.json);
  if (existing.success) {
    return {
      providerUserId: existing.data.result.user,
      providerStatus: 'onboarding',
      adopted: true,
    };
  }
  throw new PermanentError(
    `Kraken create_user: a user with this external_id already exists (HTTP ${res.status} ${problem.summary}) and the answer does not carry its IIBAN; not creating a second user: link the existing Kraken user by hand`,
    res.status,
    [
      {
        field: 'externalId',
        message: 'duplicate external_id at Kraken; existing IIBAN not returned',
      },
    ],
  );
}

async function getUser(
  client: KrakenClient,
  reasons: ReasonMapper,
  iiban: string,
  signal: AbortSignal,
): Promise<ProviderUserState> {
  const res = await client.send({
    method: 'GET',
    path: userPath(iiban),
    operation: 'get_user',
    signal,
  });
  if (!isOk(res)) throw client.toError(res, 'get_user');
  const body = UserBody.safeParse(res.json);
  if (!body.success) {
    throw new RetryableError(
      `Kraken get_user answered HTTP ${res.status} without a usable status`,
      res.status,
    );
  }
  const m = mapKrakenStatus(body.data.result.status);
  return {
    providerUserId: iiban,
    providerStatus: m.providerStatus,
    outcome: m.outcome,
    terminal: m.terminal,
    reasons: m.reasonTexts.map((t) => mapKrakenReason(reasons, t)),
    ...(m.deadline ? { deadline: m.deadline } : {}),
  };
}

/** Top-level Kraken fields to PATCH: those behind `missing_data` reasons that the applicant now has. */
export function remediationFields(a: Applicant, reasons: readonly Reason[]): string[] {
  const out = new Set<string>();
  for (const r of reasons) {
    if (r.code !== 'missing_data' || !r.field || !hasField(a, r.field)) continue;
    for (const f of krakenFieldsFor(r.field)) {
      if (!f.createOnly && krakenValue(a, f) !== undefined) out.add(topLevel(f));
    }
  }
  return [...out];
}

/**
 * `PATCH /b2b/users/{user}` with only the named top-level fields (nested objects whole); returns
 * the fields sent. Kraken answers `{"result":"success"}`.
 */
export async function updateKrakenUser(
  client: KrakenClient,
  iiban: string,
  applicant: Applicant,
  topLevelFields: readonly string[],
  signal: AbortSignal,
): Promise<string[]> {
  const body = buildUpdatePayload(applicant, topLevelFields);
  const sent = Object.keys(body);
  if (sent.length === 0) return sent;
  const res = await client.send({
    method: 'PATCH',
    path: userPath(iiban),
    body,
    operation: 'update_user',
    signal,
  });
  if (!isOk(res)) throw client.toError(res, 'update_user');
  return sent;
}

/**
 * Remediation = a PATCH of the changed fields; Kraken then re-evaluates the outstanding required
 * actions [INF]. With nothing to change (e.g. a session-type reason) there is no Embed JSON call
 * that re-runs a verification (that is a new evidence submission, `POST /b2b/verifications/{user}`,
 * outside this service), so the case goes to a human.
 */
async function remediate(
  client: KrakenClient,
  input: RemediationInput,
  signal: AbortSignal,
): Promise<string> {
  const fields = remediationFields(input.applicant, input.reasons);
  const sent =
    fields.length === 0
      ? []
      : await updateKrakenUser(client, input.providerUserId, input.applicant, fields, signal);
  if (sent.length === 0) {
    const codes = [...new Set(input.reasons.map((r) => r.code))].join(', ') || 'none';
    throw new PermanentError(
      `Kraken remediation: no profile field to update for reasons [${codes}]; Kraken needs a new verification submission (POST /b2b/verifications/{user}), which this service does not send`,
      undefined,
    );
  }
  return `PATCH ${sent.join(', ')}`;
}
