/**
 * The partner API (/v1): onboardings and cases. Bearer-authenticated; every error is
 * problem+json with field-level details.
 */
import express, { type Request, type Response, type Router } from 'express';
import type { ZodType } from 'zod';
import type { Clock } from '../lib/clock.js';
import { zodFieldErrors } from '../lib/problem.js';
import { CaseConflictError } from '../kyc/state-machine.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { CaseCommands } from '../queue/case-commands.js';
import type { Producer } from '../queue/producer.js';
import type { CaseStore } from '../store/case-store.js';
import { requireBearer } from '../http/bearer.js';
import { jsonBody } from '../http/body.js';
import { sendProblem } from '../http/respond.js';
import { caseView } from './case-view.js';
import { ApplicantPatchRequest, CaseListQuery, ResolveRequest } from './schemas.js';
import { API_BODY_LIMIT, onboard } from './onboardings.js';

export interface ApiDeps {
  store: CaseStore;
  commands: CaseCommands;
  producer: Producer;
  providers: ProviderRegistry;
  clock: Clock;
  apiTokens: readonly string[];
  escalationSlaMs: number;
}

function parse<T>(schema: ZodType<T>, input: unknown, res: Response, root?: string): T | undefined {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  sendProblem(res, 400, 'the request is invalid', zodFieldErrors(r.error, root));
  return undefined;
}

export function apiRouter(deps: ApiDeps): Router {
  const r = express.Router();
  r.use('/v1', requireBearer(deps.apiTokens), jsonBody({ limit: API_BODY_LIMIT }));

  r.post('/v1/onboardings', async (req: Request, res: Response) => {
    const a = await onboard(deps, req.body);
    if (!a.ok) return sendProblem(res, a.status, a.detail, a.errors);
    res.status(a.status).location(a.location).json(a.body);
  });

  r.get('/v1/cases', async (req: Request, res: Response) => {
    const q = parse(CaseListQuery, req.query, res);
    if (!q) return;
    let page;
    try {
      page = await deps.store.list(q);
    } catch (err) {
      if (err instanceof RangeError) return sendProblem(res, 400, 'invalid cursor', [{ field: 'cursor', message: 'not a cursor this API returned' }]);
      throw err;
    }
    const ctx = { now: deps.clock.now(), escalationSlaMs: deps.escalationSlaMs };
    res.json({ items: page.items.map((c) => caseView(c, ctx)), nextCursor: page.nextCursor ?? null });
  });

  r.get('/v1/cases/:caseId', async (req: Request, res: Response) => {
    const c = await deps.store.get(String(req.params.caseId));
    if (!c) return sendProblem(res, 404, 'no such case');
    const { entries } = await deps.store.timeline(c.id);
    res.json(caseView(c, { now: deps.clock.now(), escalationSlaMs: deps.escalationSlaMs }, entries));
  });

  r.patch('/v1/cases/:caseId/applicant', async (req: Request, res: Response) => {
    const patch = parse(ApplicantPatchRequest, req.body, res);
    if (patch) await command(req, res, deps, { kind: 'applicant_updated', patch });
  });

  r.post('/v1/cases/:caseId/resolve', async (req: Request, res: Response) => {
    const body = parse(ResolveRequest, req.body, res);
    if (body) await command(req, res, deps, { kind: 'resolve', action: body.action, note: body.note });
  });

  return r;
}

async function command(req: Request, res: Response, deps: ApiDeps, input: Parameters<CaseCommands['apply']>[1]): Promise<void> {
  try {
    const out = await deps.commands.apply(String(req.params.caseId), input);
    if (out.outcome === 'missing') return sendProblem(res, 404, 'no such case');
    res.status(202).json({ caseId: out.case.id, status: out.case.status });
  } catch (err) {
    if (err instanceof CaseConflictError) return sendProblem(res, 409, err.message);
    throw err;
  }
}

