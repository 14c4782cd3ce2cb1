/**
 * Adoption after a 409 on create: the Idempotency-Key was used before (typically the create
 * committed and its answer was lost), and Kira's 409 names no user. The user is looked up by
 * `external_id` and adopted only when it is positively this applicant's. Adopting a stranger's
 * user would hand our applicant's onboarding (and the stranger's verdict) to the wrong person,
 * which is worse than asking a human: anything short of a positive match escalates.
 *
 * Positive means the user's own `external_id` equals ours: on the list item, or, when list items
 * carry none (the list shape is [UNKNOWN], PROVIDERS.md §2.4), on `GET /v1/users/{id}`. Email or
 * name are deliberately not used as a fallback: neither is unique to one of our cases (the same
 * person can be onboarded under two external ids, and strangers share names), so a match on them
 * could merge two onboardings into one Kira user, the very takeover this guards against.
 */
import { PermanentError } from '../errors.js';
import type { ProviderUser } from '../provider-adapter.js';
import { isOk, type KiraClient } from './client.js';
import { mapKiraStatus } from './status.js';
import { readUser, readUserList, type KiraUserRecord } from './user-record.js';

/** A filter Kira honours lists one user; more than one is a duplicate that a human must see. */
export const LOOKUP_LIMIT = 5;

const userPath = (id: string): string => `/v1/users/${encodeURIComponent(id)}`;

/** The user as its own GET shows it; undefined when it no longer exists. */
async function readById(
  client: KiraClient,
  userId: string,
  signal: AbortSignal,
): Promise<KiraUserRecord | undefined> {
  const res = await client.send({
    method: 'GET',
    path: userPath(userId),
    operation: 'get_user',
    signal,
  });
  if (res.status === 404) return undefined;
  if (!isOk(res)) throw client.toError(res, 'get_user');
  return readUser(res, 'get_user');
}

interface Sorted {
  listed: number;
  ours: KiraUserRecord[];
  /** Users whose external_id could not be read, even by id. */
  unidentified: number;
}

async function sortListed(
  client: KiraClient,
  listed: readonly KiraUserRecord[],
  externalId: string,
  signal: AbortSignal,
): Promise<Sorted> {
  const out: Sorted = { listed: listed.length, ours: [], unidentified: 0 };
  for (const item of listed) {
    const user = item.externalId === undefined ? await readById(client, item.userId, signal) : item;
    if (!user) continue;
    if (user.externalId === undefined) out.unidentified += 1;
    else if (user.externalId === externalId) out.ours.push(user);
  }
  return out;
}

/** Why nothing was adopted; ids and counts only (an external id may be personal data). */
function why(s: Sorted): string {
  if (s.ours.length > 1) return `${s.ours.length} listed users carry this external_id`;
  if (s.listed === 0) return 'no user with this external_id is listed';
  if (s.unidentified > 0) {
    return `${s.unidentified} listed user(s) carry no external_id, even when read by id, so none is positively this applicant's`;
  }
  return 'the listed users carry other external_ids (the list ignored its filter?)';
}

function refuse(reason: string): PermanentError {
  return new PermanentError(
    `Kira create_user answered 409 (idempotency key reused) and ${reason}; not adopting a user that is not positively this applicant's, and not creating a second one`,
    409,
  );
}

/** The Kira user this applicant's reused key created, or a PermanentError(409) saying why not. */
export async function adoptOwnUser(
  client: KiraClient,
  externalId: string,
  signal: AbortSignal,
): Promise<ProviderUser> {
  const query = `external_id=${encodeURIComponent(externalId)}&limit=${LOOKUP_LIMIT}`;
  const res = await client.send({
    method: 'GET',
    path: `/v1/users?${query}`,
    operation: 'find_user',
    signal,
  });
  if (!isOk(res)) throw client.toError(res, 'find_user');
  const listed = readUserList(res.json);
  if (!listed) throw refuse('the list answer holds no list of users');
  const sorted = await sortListed(client, listed, externalId, signal);
  const [own] = sorted.ours;
  if (sorted.ours.length !== 1 || !own) throw refuse(why(sorted));
  const providerStatus =
    own.status === undefined ? undefined : mapKiraStatus(own.status).providerStatus;
  return { providerUserId: own.userId, providerStatus, adopted: true };
}
