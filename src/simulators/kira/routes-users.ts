/**
 * `/v1/users` routes: create (idempotent), list, get, partial PUT, and re-issue verification
 * (REJECTED users only, PROVIDERS.md §5 rule 14).
 */
import { randomUUID } from 'node:crypto';
import { roll } from '../shared/faults.js';
import type { SimContext } from './context.js';
import { hang } from './gateway.js';
import { decodeSegment, send, type SimHandler, type SimRequest } from './http.js';
import { beginIdempotent, commitIdempotent } from './idempotency.js';
import { toResource } from './resource.js';
import type { SimUser } from './types.js';
import {
  CreateUserSchema,
  createOnlyFieldsIn,
  linkModeProblems,
  ReissueSchema,
  schemaError,
  UpdateUserSchema,
  validate,
} from './validation.js';

const MAX_LIMIT = 100;
const DEFAULT_LIMIT = 20;

function verificationLink(user: SimUser): string {
  return `https://verify.kira.test/session/${user.userId}/${randomUUID()}`;
}

function findUser(ctx: SimContext, r: SimRequest): SimUser | undefined {
  const user = ctx.state.users.get(r.id);
  if (!user) send(r, 404, { code: 'not_found', message: 'User not found' });
  return user;
}

function createUser(ctx: SimContext, r: SimRequest): void {
  const call = beginIdempotent(ctx, r);
  if (!call) return;
  const v = validate(CreateUserSchema, r.body);
  if (!v.ok) return send(r, 400, v.body);
  const linkProblems = linkModeProblems(v.data);
  if (linkProblems.length > 0) return send(r, 400, schemaError(linkProblems));
  if (v.data.type === 'business') {
    return send(r, 400, { code: 'validation_error', message: 'The simulator supports individual users only' });
  }
  const { external_id: externalId, ...fields } = v.data;
  const user = ctx.state.newUser({ externalId, fields });
  const body: Record<string, unknown> = { ...toResource(user), verification_triggered: true };
  if (v.data.verification_mode === 'verification_link')
    {body.verification_link = verificationLink(user);}
  commitIdempotent(ctx, call, { status: 201, body });
  ctx.outcomes.start(user);
  // Committed: a timeout from here on leaves the user behind; the retry must replay or 409.
  if (roll(ctx.faults().commitThenTimeout, ctx.random)) return void hang(r);
  send(r, 201, body);
}

/** A query parameter given once; NaN-making when repeated (as a router's array value would be). */
function single(q: URLSearchParams, name: string): string | undefined {
  const all = q.getAll(name);
  return all.length === 1 ? all[0] : all.length === 0 ? undefined : '';
}

function listUsers(ctx: SimContext, r: SimRequest): void {
  const rawLimit = single(r.query, 'limit');
  const limit = rawLimit === undefined ? DEFAULT_LIMIT : rawLimit === '' ? Number.NaN : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1) {
    return send(r, 400, { code: 'validation_error', message: 'limit must be a positive integer' });
  }
  // Documented: every list endpoint answers a raw 500 above 100.
  if (limit > MAX_LIMIT) return send(r, 500, { message: 'Internal server error' });
  const externalId = r.query.getAll('external_id').length === 1 ? r.query.get('external_id')! : undefined;
  const matching = [...ctx.state.users.values()].filter(
    (u) => externalId === undefined || u.externalId === externalId,
  );
  const items = matching.slice(0, limit).map(toResource);
  // The list shape is [UNKNOWN]: with the switch off, items name no external_id (GET by id still does).
  if (!ctx.listItemsCarryExternalId) for (const item of items) delete item.external_id;
  send(r, 200, { data: items, count: matching.length });
}

function updateUser(ctx: SimContext, r: SimRequest): void {
  const user = findUser(ctx, r);
  if (!user) return;
  const createOnly = createOnlyFieldsIn(r.body);
  if (createOnly.length > 0) return send(r, 400, schemaError(createOnly));
  const v = validate(UpdateUserSchema, r.body);
  if (!v.ok) return send(r, 400, v.body);
  // Partial write: only the fields sent are written, everything else is left alone.
  for (const [k, value] of Object.entries(v.data)) {
    if (value !== undefined) user.fields[k] = value;
  }
  ctx.state.touch(user);
  send(r, 200, toResource(user));
}

function reissueVerification(ctx: SimContext, r: SimRequest): void {
  const call = beginIdempotent(ctx, r);
  if (!call) return;
  const user = findUser(ctx, r);
  if (!user) return;
  const v = validate(ReissueSchema, r.body);
  if (!v.ok) return send(r, 400, v.body);
  // Rule 14: the re-issue is for "a user that came back REJECTED". Any other status is refused as a
  // business error (the answer is not documented [INF]; 409 is kept for a reused key, and nothing
  // is remembered under the key, so it stays usable once the user is REJECTED).
  if (user.status !== 'REJECTED') {
    return send(r, 400, {
      code: 'validation_error',
      message: `Verification can only be re-issued for a REJECTED user (status is ${user.status})`,
    });
  }
  ctx.outcomes.start(user);
  const body: Record<string, unknown> = {
    user_id: user.userId,
    status: user.status,
    verification_status: user.verificationStatus,
    verification_triggered: true,
  };
  if (v.data.type === 'embedded-link') body.verification_link = verificationLink(user);
  commitIdempotent(ctx, call, { status: 201, body });
  send(r, 201, body);
}

function getUser(ctx: SimContext, r: SimRequest): void {
  const user = findUser(ctx, r);
  if (user) send(r, 200, toResource(user));
}

const COLLECTION = /^\/v1\/users\/?$/;
const ONE = /^\/v1\/users\/([^/]+)\/?$/;
const VERIFICATIONS = /^\/v1\/users\/([^/]+)\/verifications\/?$/;

/** The `/v1/users` handler for `r` (the gateway has let only these routes through). */
export function usersRoute(r: SimRequest): SimHandler | undefined {
  if (COLLECTION.test(r.path)) return r.method === 'POST' ? createUser : r.method === 'GET' ? listUsers : undefined;
  const one = ONE.exec(r.path);
  if (one) {
    r.id = decodeSegment(one[1]!);
    return r.method === 'GET' ? getUser : r.method === 'PUT' ? updateUser : undefined;
  }
  const ver = r.method === 'POST' ? VERIFICATIONS.exec(r.path) : null;
  if (!ver) return undefined;
  r.id = decodeSegment(ver[1]!);
  return reissueVerification;
}
