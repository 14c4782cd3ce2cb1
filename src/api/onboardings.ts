/**
 * POST /v1/onboardings: an applicant in, a case out (202 new, 200 when the partner's external id
 * already has one), and the case's first job queued. The one implementation behind both HTTP
 * layers: the express route (api/router.ts) and the fast path (app.ts), which skips express for
 * this, the API's busiest call (express's routing and response helpers cost more than the call's
 * own work: BENCHMARKS.md).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../lib/clock.js';
import { zodFieldErrors, type FieldError } from '../lib/problem.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { Producer } from '../queue/producer.js';
import type { CaseStore } from '../store/case-store.js';
import { BEARER_CHALLENGE, BEARER_REFUSED, bearerCheck } from '../http/bearer.js';
import { parseLimit, readJson } from '../http/body.js';
import { writeJson } from '../http/respond.js';
import type { FastPathFallback, FastRoute } from '../http/fast-path.js';
import { OnboardingRequest } from './schemas.js';

/** Partner API bodies are small JSON documents (an applicant is a few KB). */
export const API_BODY_LIMIT = '64kb';

export interface OnboardingDeps {
  store: CaseStore;
  producer: Producer;
  providers: ProviderRegistry;
  clock: Clock;
}

export type OnboardingAnswer =
  | { ok: true; status: 200 | 202; location: string; body: { caseId: string; status: string } }
  | { ok: false; status: 400 | 404; detail: string; errors: FieldError[] };

export async function onboard(deps: OnboardingDeps, input: unknown): Promise<OnboardingAnswer> {
  // An unknown or disabled provider is a missing resource (404, as on /webhooks/:provider),
  // decided before the applicant is validated against that provider's needs.
  const named: unknown = (input as { provider?: unknown } | undefined)?.provider;
  if (typeof named === 'string' && !deps.providers.find(named)) {
    return { ok: false, status: 404, detail: 'unknown provider', errors: [{ field: 'provider', message: `not a provider enabled on this deployment (${deps.providers.ids().join(', ')})` }] };
  }
  const parsed = OnboardingRequest.safeParse(input);
  if (!parsed.success) return { ok: false, status: 400, detail: 'the request is invalid', errors: zodFieldErrors(parsed.error) };
  const { provider, applicant } = parsed.data;
  const { case: c, created } = await deps.store.create(provider, applicant, deps.clock.now());
  await deps.producer.ensureWork(c);
  return { ok: true, status: created ? 202 : 200, location: `/v1/cases/${c.id}`, body: { caseId: c.id, status: c.status } };
}

const FAST_PATH = /^\/v1\/onboardings(?:\?.*)?$/;

/**
 * `POST /v1/onboardings` spelt exactly so (optionally with a query) as a plain Node handler; false
 * for any other request, which express then serves (its route runs `onboard` too). The same
 * bearer check, body reader and limit as the express route, so both answer alike.
 */
export function onboardingFastPath(deps: OnboardingDeps & { apiTokens: readonly string[] }, t: FastPathFallback): FastRoute {
  const authorized = bearerCheck(deps.apiTokens);
  const limit = parseLimit(API_BODY_LIMIT);
  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!authorized(req.headers.authorization)) {
      res.setHeader(...BEARER_CHALLENGE);
      return t.problem(req, res, 401, BEARER_REFUSED);
    }
    const body = await readJson(req, limit);
    if (!body.ok) return t.problem(req, res, body.status, body.detail);
    const a = await onboard(deps, body.value);
    if (!a.ok) return t.problem(req, res, a.status, a.detail, a.errors);
    writeJson(res, a.status, a.body, { location: a.location });
  }
  return (req, res) => {
    if (req.method !== 'POST' || !FAST_PATH.test(req.url ?? '')) return false;
    t.prepare(req, res);
    answer(req, res).catch((err: unknown) => t.fail(req, res, err));
    return true;
  };
}
