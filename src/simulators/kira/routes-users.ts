/**
 * `/v1/users` routes: create (idempotent), list, get, partial PUT, and re-issue verification
 * (REJECTED users only, PROVIDERS.md §5 rule 14).
 */
import { randomUUID } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { roll } from '../shared/faults.js';
import type { SimContext } from './context.js';
import { hang } from './gateway.js';
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

function findUser(ctx: SimContext, req: Request, res: Response): SimUser | undefined {
  const user = ctx.state.users.get(String(req.params.id));
  if (!user) res.status(404).json({ code: 'not_found', message: 'User not found' });
  return user;
}

function createUser(ctx: SimContext, req: Request, res: Response): void {
  const call = beginIdempotent(ctx, req, res);
  if (!call) return;
  const v = validate(CreateUserSchema, req.body);
  if (!v.ok) return void res.status(400).json(v.body);
  const linkProblems = linkModeProblems(v.data);
  if (linkProblems.length > 0) return void res.status(400).json(schemaError(linkProblems));
  if (v.data.type === 'business') {
    res
      .status(400)
      .json({ code: 'validation_error', message: 'The simulator supports individual users only' });
    return;
  }
  const { external_id: externalId, ...fields } = v.data;
  const user = ctx.state.newUser({ externalId, fields });
  const body: Record<string, unknown> = { ...toResource(user), verification_triggered: true };
  if (v.data.verification_mode === 'verification_link')
    {body.verification_link = verificationLink(user);}
  commitIdempotent(ctx, call, { status: 201, body });
  ctx.outcomes.start(user);
  // Committed: a timeout from here on leaves the user behind; the retry must replay or 409.
  if (roll(ctx.faults().commitThenTimeout, ctx.random)) return hang(res);
  res.status(201).json(body);
}

function listUsers(ctx: SimContext, req: Request, res: Response): void {
  const rawLimit = req.query.limit;
  const limit = rawLimit === undefined ? DEFAULT_LIMIT : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1) {
    res.status(400).json({ code: 'validation_error', message: 'limit must be a positive integer' });
    return;
  }
  // Documented: every list endpoint answers a raw 500 above 100.
  if (limit > MAX_LIMIT) return void res.status(500).json({ message: 'Internal server error' });
  const externalId = typeof req.query.external_id === 'string' ? req.query.external_id : undefined;
  const matching = [...ctx.state.users.values()].filter(
    (u) => externalId === undefined || u.externalId === externalId,
  );
  const items = matching.slice(0, limit).map(toResource);
  // The list shape is [UNKNOWN]: with the switch off, items name no external_id (GET by id still does).
  if (!ctx.listItemsCarryExternalId) for (const item of items) delete item.external_id;
  res.json({ data: items, count: matching.length });
}

function updateUser(ctx: SimContext, req: Request, res: Response): void {
  const user = findUser(ctx, req, res);
  if (!user) return;
  const createOnly = createOnlyFieldsIn(req.body);
  if (createOnly.length > 0) return void res.status(400).json(schemaError(createOnly));
  const v = validate(UpdateUserSchema, req.body);
  if (!v.ok) return void res.status(400).json(v.body);
  // Partial write: only the fields sent are written, everything else is left alone.
  for (const [k, value] of Object.entries(v.data)) {
    if (value !== undefined) user.fields[k] = value;
  }
  ctx.state.touch(user);
  res.json(toResource(user));
}

function reissueVerification(ctx: SimContext, req: Request, res: Response): void {
  const call = beginIdempotent(ctx, req, res);
  if (!call) return;
  const user = findUser(ctx, req, res);
  if (!user) return;
  const v = validate(ReissueSchema, req.body);
  if (!v.ok) return void res.status(400).json(v.body);
  // Rule 14: the re-issue is for "a user that came back REJECTED". Any other status is refused as a
  // business error (the answer is not documented [INF]; 409 is kept for a reused key, and nothing
  // is remembered under the key, so it stays usable once the user is REJECTED).
  if (user.status !== 'REJECTED') {
    res.status(400).json({
      code: 'validation_error',
      message: `Verification can only be re-issued for a REJECTED user (status is ${user.status})`,
    });
    return;
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
  res.status(201).json(body);
}

export function usersRouter(ctx: SimContext): Router {
  const r = Router();
  r.post('/', (req, res) => createUser(ctx, req, res));
  r.get('/', (req, res) => listUsers(ctx, req, res));
  r.get('/:id', (req, res) => {
    const user = findUser(ctx, req, res);
    if (user) res.json(toResource(user));
  });
  r.put('/:id', (req, res) => updateUser(ctx, req, res));
  r.post('/:id/verifications', (req, res) => reissueVerification(ctx, req, res));
  return r;
}
