/**
 * The Wealthyhood provider adapter (PROVIDERS.md §3, DESIGN.md): Auth0 client credentials, create
 * user in the configured schema version, adoption of the existing user when a retried create meets
 * "email already exists", and the KYC outcome by polling only (Wealthyhood has no webhooks).
 * Parts of the contract the docs do not state are in `inferred.ts`.
 */
import type { Applicant } from '../../kyc/applicant.js';
import type { ReasonMapper } from '../../kyc/reasons.js';
import type { Clock } from '../../lib/clock.js';
import type { FetchFn, HttpObserver } from '../../lib/http.js';
import { PermanentError, RetryableError } from '../errors.js';
import type { ProviderAdapter, ProviderUser, ProviderUserState } from '../provider-adapter.js';
import { createWealthyhoodClient, isOk, type WealthyhoodClient } from './client.js';
import { wealthyhoodFieldToCanonical, type SchemaVersion } from './fields.js';
import {
  FAILED_WITHOUT_REASONS,
  findByEmailPath,
  GET_USER,
  isDuplicateEmail,
  LOOKUP_UNSUPPORTED_STATUSES,
  parseErrorBody,
  RATE_LIMIT,
  readUserList,
  readUserRecord,
  type UserRecord,
} from './inferred.js';
import { buildCreatePayload } from './payload.js';
import { preflightWealthyhood } from './preflight.js';
import { mapKycStatus } from './status.js';

export interface WealthyhoodAdapterDeps {
  baseUrl: string;
  /** Auth0 tenant URL; defaults to `baseUrl` (the simulator serves `/oauth/token` itself). */
  authUrl?: string;
  clientId: string;
  clientSecret: string;
  audience: string;
  /** Which create-user page to follow (default v2). */
  schema?: SchemaVersion;
  fetch?: FetchFn;
  clock: Clock;
  reasons: ReasonMapper;
  /** Per-call timeout; default 10 000 ms. */
  timeoutMs?: number;
  observe?: HttpObserver;
}

/** MongoDB ObjectId: the Wealthyhood user id. */
export const OBJECT_ID = /^[a-f0-9]{24}$/;

export const NO_RETRY_FLOW =
  'Wealthyhood documents no way to re-run KYC or resubmit a failed user (PROVIDERS.md §3.4); a human must review the case with Wealthyhood';

interface Deps {
  client: WealthyhoodClient;
  reasons: ReasonMapper;
}

export function createWealthyhoodAdapter(deps: WealthyhoodAdapterDeps): ProviderAdapter {
  const schema = deps.schema ?? 'v2';
  const client = createWealthyhoodClient({ ...deps, authUrl: deps.authUrl ?? deps.baseUrl });
  const d: Deps = { client, reasons: deps.reasons };
  return {
    id: 'wealthyhood',
    rateLimit: { ...RATE_LIMIT },
    webhooks: false, // outcomes are learnt by polling only
    preflight: (a) => preflightWealthyhood(a, schema),
    createUser: (a, ctx) => createUser(d, a, schema, ctx.signal),
    getUser: (providerUserId, ctx) => getUser(d, providerUserId, ctx.signal),
    remediate: () => Promise.reject(new PermanentError(NO_RETRY_FLOW, undefined)),
    // No webhooks exist: nothing can carry a valid signature, so every POST is refused (401).
    verifyWebhook: () => ({ ok: false, reason: 'bad_signature' }),
    parseWebhook: () => ({
      kind: 'unusable',
      problem: 'Wealthyhood sends no webhooks; outcomes are polled',
    }),
  };
}

function userIdOf(user: UserRecord | undefined): string | undefined {
  return user?.id !== undefined && OBJECT_ID.test(user.id) ? user.id : undefined;
}

function statusOf(user: UserRecord): string | undefined {
  return user.kycStatus === undefined ? undefined : mapKycStatus(user.kycStatus).providerStatus;
}

async function createUser(
  d: Deps,
  a: Applicant,
  schema: SchemaVersion,
  signal: AbortSignal,
): Promise<ProviderUser> {
  // Wealthyhood has no idempotency key: email uniqueness is the only dedupe, so a retried create
  // that already committed comes back as a duplicate and is adopted below.
  const res = await d.client.send({
    method: 'POST',
    path: '/users',
    body: buildCreatePayload(a, schema),
    operation: 'create_user',
    signal,
  });
  if (isOk(res)) {
    const user = readUserRecord(res.json);
    const id = userIdOf(user);
    if (!user || id === undefined) {
      throw new RetryableError(
        `Wealthyhood create_user answered HTTP ${res.status} without an ObjectId`,
        res.status,
      );
    }
    return { providerUserId: id, providerStatus: statusOf(user), adopted: false };
  }
  if (isDuplicateEmail(res.status, parseErrorBody(res.json))) {
    return adopt(d, a, res.status, signal);
  }
  throw d.client.toError(res, 'create_user');
}

const duplicate = (status: number, why: string): PermanentError =>
  new PermanentError(
    `Wealthyhood create_user: a user with this email already exists and ${why}; not creating a second user`,
    status,
    [{ field: 'email', message: 'already registered at Wealthyhood' }],
  );

async function adopt(
  d: Deps,
  a: Applicant,
  status: number,
  signal: AbortSignal,
): Promise<ProviderUser> {
  const email = a.email;
  if (!email) throw duplicate(status, 'the applicant has no email to look it up by');
  const res = await d.client.send({
    method: 'GET',
    path: findByEmailPath(email),
    operation: 'find_user',
    signal,
  });
  if (LOOKUP_UNSUPPORTED_STATUSES.has(res.status)) {
    throw duplicate(status, `it cannot be looked up (lookup by email answered HTTP ${res.status})`);
  }
  if (!isOk(res)) throw d.client.toError(res, 'find_user');
  // A list that ignored the filter is not trusted: only an exact email match counts.
  const match = readUserList(res.json).find((u) => u.email?.toLowerCase() === email.toLowerCase());
  const id = userIdOf(match);
  if (!match || id === undefined) {
    throw duplicate(status, 'no user with this email was found by lookup');
  }
  if (!samePerson(match, a)) {
    throw duplicate(status, 'it belongs to a different person (name or date of birth differ)');
  }
  return { providerUserId: id, providerStatus: statusOf(match), adopted: true };
}

/** Every identity field the found user shows must equal ours (absent fields are not compared). */
function samePerson(u: UserRecord, a: Applicant): boolean {
  const pairs: Array<[string | undefined, string | undefined]> = [
    [u.firstName, a.firstName],
    [u.lastName, a.lastName],
    [u.dateOfBirth?.slice(0, 10), a.dateOfBirth],
  ];
  return pairs.every(
    ([theirs, ours]) =>
      theirs === undefined ||
      ours === undefined ||
      theirs.trim().toLowerCase() === ours.trim().toLowerCase(),
  );
}

async function getUser(
  d: Deps,
  providerUserId: string,
  signal: AbortSignal,
): Promise<ProviderUserState> {
  if (!OBJECT_ID.test(providerUserId)) {
    throw new PermanentError(
      'Wealthyhood get_user: the provider user id is not a 24-hex ObjectId',
      undefined,
    );
  }
  const res = await d.client.send({
    method: GET_USER.method,
    path: GET_USER.path,
    userId: providerUserId,
    operation: 'get_user',
    signal,
  });
  if (!isOk(res)) throw d.client.toError(res, 'get_user');
  const user = readUserRecord(res.json);
  if (user?.kycStatus === undefined) {
    throw new RetryableError(
      'Wealthyhood get_user answered without kycStatus (inferred field, see inferred.ts)',
      res.status,
    );
  }
  const { providerStatus, outcome, terminal } = mapKycStatus(user.kycStatus);
  // Reasons come only from this GET (no webhooks): a failure without any gets our own text.
  const texts =
    outcome !== 'rejected'
      ? []
      : user.failureReasons.length > 0
        ? user.failureReasons
        : [FAILED_WITHOUT_REASONS];
  const reasons = texts.map((text) => d.reasons.map(text, wealthyhoodFieldToCanonical));
  return { providerUserId, providerStatus, outcome, terminal, reasons };
}
