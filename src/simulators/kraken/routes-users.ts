/**
 * `/b2b/users` routes (PROVIDERS.md §1.4, rule 4): create (201 with the IIBAN; a duplicate
 * `external_id` → 409, with or without the existing IIBAN), get, and partial PATCH. A new user
 * waits in `initial_onboarding` until a verification is submitted (routes-verifications.ts).
 */
import { Router, type Request, type Response } from 'express';
import { roll } from '../shared/faults.js';
import type { SimContext } from './context.js';
import { hang, rawBody, record } from './gateway.js';
import { toResource } from './resource.js';
import type { KrakenSimUser } from './types.js';
import { CreateUserSchema, krakenError, UpdateUserSchema, validate } from './validation.js';

/** The parsed JSON body, or undefined after answering 400 itself. */
function jsonBody(req: Request, res: Response): unknown {
  const raw = rawBody(req);
  try {
    const body: unknown = JSON.parse(raw.length === 0 ? 'null' : raw.toString('utf8'));
    const rec = record(res);
    if (rec && body !== null && typeof body === 'object' && !Array.isArray(body)) {
      rec.bodyKeys = Object.keys(body);
    }
    return body;
  } catch {
    res.status(400).json(krakenError('EGeneral:Invalid arguments:body (malformed JSON)'));
    return undefined;
  }
}

/** The path parameter must be 14–42 characters (400 `ENexus:Invalid user ID`); unknown → 404. */
function findUser(ctx: SimContext, req: Request, res: Response): KrakenSimUser | undefined {
  const iiban = String(req.params.user);
  if (iiban.length < 14 || iiban.length > 42) {
    res.status(400).json(krakenError('ENexus:Invalid user ID'));
    return undefined;
  }
  const user = ctx.state.users.get(iiban);
  if (!user) res.status(404).json(krakenError('ENexus:User not found'));
  return user;
}

function createUser(ctx: SimContext, req: Request, res: Response): void {
  const body = jsonBody(req, res);
  if (body === undefined) return;
  const v = validate(CreateUserSchema, body);
  if (!v.ok) return void res.status(400).json(v.body);
  const { external_id: externalId, ...fields } = v.data;
  const existing = ctx.state.byExternalId.get(externalId);
  if (existing) {
    // What Kraken answers is [UNKNOWN]; a 409 ("in some cases retryable"), with or without the user.
    const error = ['ENexus:User with this external_id already exists'];
    const answer =
      ctx.duplicateExternalId === 'conflict_with_iiban'
        ? { error, result: { user: existing.iiban } }
        : { error };
    return void res.status(409).json(answer);
  }
  const user = ctx.state.newUser({
    externalId,
    fields,
    onboarding: ctx.outcomes.onboardingAction(),
  });
  // Committed: a timeout from here on leaves the user behind; the retry gets the duplicate answer.
  if (roll(ctx.faults().commitThenTimeout, ctx.random)) return hang(res);
  res.status(201).json({ result: { user: user.iiban } });
}

function updateUser(ctx: SimContext, req: Request, res: Response): void {
  const user = findUser(ctx, req, res);
  if (!user) return;
  const body = jsonBody(req, res);
  if (body === undefined) return;
  const v = validate(UpdateUserSchema, body);
  if (!v.ok) return void res.status(400).json(v.body);
  // PATCH: only the fields sent change; an explicit null clears one [INF].
  for (const [k, value] of Object.entries(v.data)) {
    if (value === null) delete user.fields[k];
    else if (value !== undefined) user.fields[k] = value;
  }
  ctx.state.touch(user);
  // Re-runs the decision once a verification was submitted (start() does nothing before).
  ctx.outcomes.start(user);
  res.json({ result: 'success' });
}

export function usersRouter(ctx: SimContext): Router {
  const r = Router();
  r.post('/', (req, res) => createUser(ctx, req, res));
  r.get('/:user', (req, res) => {
    const user = findUser(ctx, req, res);
    if (user) res.json(toResource(user));
  });
  r.patch('/:user', (req, res) => updateUser(ctx, req, res));
  return r;
}
