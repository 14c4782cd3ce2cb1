/**
 * The Kraken Embed provider adapter (PROVIDERS.md §1): signed calls with a coordinated nonce,
 * create with `external_id` as the only dedupe key (adopt on a duplicate answer, never create
 * twice) followed by the identity-document verification Kraken decides on, status from
 * `GET /b2b/users/{user}` (`required_actions` carry rejections and deadlines), remediation by a
 * PATCH of the fields that differ from what Kraken holds plus a re-submitted verification,
 * webhook verification and normalisation.
 */
import { z } from 'zod';
import type { Applicant } from '../../kyc/applicant.js';
import type { ReasonMapper } from '../../kyc/reasons.js';
import type { Clock } from '../../lib/clock.js';
import type { FetchFn, HttpObserver } from '../../lib/http.js';
import { PermanentError, RetryableError } from '../errors.js';
import type {
  CallContext,
  ProviderAdapter,
  ProviderUser,
  ProviderUserState,
} from '../provider-adapter.js';
import { createKrakenClient, isOk, userPath, type KrakenClient } from './client.js';
import { createMemoryLedger, digestFields, type KrakenLedger } from './ledger.js';
import { createLocalNonceSource, type KrakenNonceSource } from './nonce.js';
import { buildCreatePayload, buildUpdatablePayload } from './payload.js';
import { preflightKraken } from './preflight.js';
import { describeKrakenError, isDuplicateExternalId } from './problems.js';
import { remediateKraken } from './remediate.js';
import { submitVerification, type KrakenEnv } from './submit.js';
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
  /**
   * What we told Kraken (IIBAN per external_id, field digests per user). Several processes need
   * the Redis ledger (`src/store/kraken-ledger.ts`); the default only remembers this process.
   */
  ledger?: KrakenLedger;
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
  const env: KrakenEnv = {
    client: createKrakenClient({
      ...deps,
      nonces: deps.nonces ?? createLocalNonceSource(deps.clock),
    }),
    ledger: deps.ledger ?? createMemoryLedger(),
    apiSecret: deps.apiSecret,
  };
  return {
    id: 'kraken',
    rateLimit: KRAKEN_RATE_LIMIT,
    webhooks: true,
    preflight: preflightKraken,
    createUser: (a, ctx) => createUser(env, a, ctx),
    getUser: (iiban, ctx) => getUser(env.client, deps.reasons, iiban, ctx.signal),
    remediate: (input, ctx) => remediateKraken(env, input, ctx),
    verifyWebhook: (raw, now) => verifyKrakenSignature(raw, deps.webhookSecrets, now),
    parseWebhook: (body) => parseKrakenWebhook(body, deps.reasons),
  };
}

/**
 * Create = `POST /b2b/users`, then the identity-document verification Kraken decides on. A retry
 * (the verification failed, or the job ran again) never posts the user twice: the IIBAN of an
 * answered create is in the ledger, and a create whose answer was lost gets the duplicate answer.
 */
async function createUser(env: KrakenEnv, a: Applicant, ctx: CallContext): Promise<ProviderUser> {
  const known = await env.ledger.iibanFor(a.externalId);
  const user = known
    ? { providerUserId: known, providerStatus: 'onboarding', adopted: true }
    : await postUser(env, a, ctx.signal);
  // Without an identity document (PREFLIGHT=off) there is nothing to submit: the user waits in
  // `initial_onboarding` until its deadline escalates the case.
  await submitVerification(env.client, user.providerUserId, a, ctx);
  return user;
}

/**
 * `POST /b2b/users`. Embed has no idempotency header: `external_id` (our externalId) is the dedupe
 * key, so a create retried after a timeout whose first attempt committed gets a duplicate answer.
 * We adopt the IIBAN it carries; without one we stop (PermanentError → the case escalates): there
 * is no endpoint to look a user up by external_id, and creating again is never an option.
 */
async function postUser(env: KrakenEnv, a: Applicant, signal: AbortSignal): Promise<ProviderUser> {
  const res = await env.client.send({
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
    const iiban = body.data.result.user;
    await env.ledger.linkUser(
      a.externalId,
      iiban,
      digestFields(env.apiSecret, iiban, buildUpdatablePayload(a)),
    );
    return { providerUserId: iiban, providerStatus: 'onboarding', adopted: false };
  }
  const problem = describeKrakenError(res.json);
  if (!isDuplicateExternalId(res.status, problem)) throw env.client.toError(res, 'create_user');
  const existing = CreatedBody.safeParse(res.json);
  if (existing.success) {
    // What the committed create stored is not known for sure: the next remediation PATCHes all.
    await env.ledger.linkUser(a.externalId, existing.data.result.user, undefined);
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
