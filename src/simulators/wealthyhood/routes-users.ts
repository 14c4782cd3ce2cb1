/**
 * User routes: `POST /users` (documented), `PATCH /users/me/employment-info` (documented), and the
 * inferred `GET /users/me` (x-user-id) and `GET /users?email=` lookup.
 */
import { Router, type Request, type Response } from 'express';
import { roll } from '../shared/faults.js';
import type { SimContext } from './context.js';
import { hang, requireScope, requireUser, userOf } from './gateway.js';
import { toResource } from './resource.js';
import { EmploymentInfoPatch, validate, validateCreate, validationError } from './validation.js';

function duplicateEmail(ctx: SimContext, res: Response): void {
  if (ctx.duplicateEmail === 409) {
    res
      .status(409)
      .json({ statusCode: 409, error: 'Conflict', message: 'User with this email already exists' });
    return;
  }
  res.status(400).json(validationError([{ field: 'email', message: 'email already exists' }]));
}

function createUser(ctx: SimContext, req: Request, res: Response): void {
  const v = validateCreate(ctx.schema, req.body);
  if (!v.ok) return void res.status(400).json(v.body);
  // Email uniqueness is Wealthyhood's only dedupe (no idempotency key is documented).
  if (ctx.state.findByEmail(String(v.data.email))) return duplicateEmail(ctx, res);
  const user = ctx.state.newUser(v.data);
  ctx.outcomes.start(user);
  // Committed: a timeout from here on leaves the user behind; the retry meets a duplicate email.
  if (roll(ctx.faults().commitThenTimeout, ctx.random)) return hang(res);
  res.status(201).json(toResource(user, ctx.schema, 'create'));
}

function findUsers(ctx: SimContext, req: Request, res: Response): void {
  const email = typeof req.query.email === 'string' ? req.query.email : undefined;
  if (email === undefined || email === '') {
    res
      .status(400)
      .json(validationError([{ field: 'email', message: 'email query parameter is required' }]));
    return;
  }
  const user = ctx.state.findByEmail(email);
  res.json({ users: user ? [toResource(user, ctx.schema, 'get')] : [] });
}

function updateEmployment(ctx: SimContext, req: Request, res: Response): void {
  const v = validate(EmploymentInfoPatch, req.body, 'employmentInfo');
  if (!v.ok) return void res.status(400).json(v.body);
  const user = userOf(res);
  user.body = { ...user.body, employmentInfo: v.data.employmentInfo };
  ctx.state.touch(user);
  res.json({ message: 'Employment info updated successfully' });
}

export function usersRouter(ctx: SimContext): Router {
  const r = Router();
  const read = requireScope(ctx, 'read:users');
  const write = requireScope(ctx, 'write:users');
  r.post('/', write, (req, res) => createUser(ctx, req, res));
  r.get('/', read, (req, res) => findUsers(ctx, req, res));
  r.get('/me', read, requireUser(ctx), (_req, res) => {
    res.json(toResource(userOf(res), ctx.schema, 'get'));
  });
  r.patch('/me/employment-info', write, requireUser(ctx), (req, res) =>
    updateEmployment(ctx, req, res),
  );
  return r;
}
