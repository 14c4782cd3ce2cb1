/**
 * Property-based fuzzing of the whole HTTP surface against a real running service (real Redis,
 * Kira, Kraken and Wealthyhood configured, simulators over HTTP), at least 5,000 generated
 * requests per run:
 * - never a 5xx, and every error answer is application/problem+json without a stack trace;
 * - the process stays up (it answers /healthz afterwards; an unhandled error would fail the run);
 * - nothing changes without a valid signature or token: every case (version, timeline, status)
 *   and every Redis key under the prefix is the same after the unauthenticated and the
 *   authenticated-but-invalid phases, and signed garbage changes no case.
 * Cases are seeded by a full service (api + workers); the fuzzing runs against an api process on
 * the same prefix, so no worker or scheduler touches Redis meanwhile and any write a request
 * caused shows up in the snapshot. Reproduce a failure with FUZZ_SEED=<seed from the report>.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicantPatchRequest, OnboardingRequest, ResolveRequest } from '../../src/api/schemas.js';
import { applicant, SECRETS, TOKEN, type Stack } from '../helpers/stack.js';
import {
  apiPaths, badAuth, badSignatures, bodies, framing, methods, providers, suffixes, toRequest,
  type ApiSpec, type FuzzTargets, type Spec, type WebhookSpec,
} from './fuzz-arbitraries.js';
import {
  deliverKira, deliverKraken, eventsSettled, kiraEvent, KRAKEN_SECRETS, krakenEvent, onboard,
  startFullStack, startProviders, stopKeepingData, until, type Providers,
} from './stacks.js';
import { caseSnapshot, changedKeys, createClient, expectProblem, redisSnapshot, type RawResponse } from './tools.js';

const BATCH = 10; // requests in flight at once
// × BATCH requests each; FUZZ_SCALE=10 for a longer hunt than CI's.
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const RUNS = { unauthenticated: 300 * SCALE, invalid: 130 * SCALE, signedGarbage: 80 * SCALE };
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;

let p: Providers;
let svc: Stack;
let client: ReturnType<typeof createClient>;
let t: FuzzTargets;
let prefix: string;
const stats = { sent: 0, fiveXX: 0, byStatus: {} as Record<number, number> };

/** Seeds verified, escalated and awaiting cases at Kira and Kraken with a full service. */
async function seedCases(stack: Stack) {
  const [k1, k2, k3, k4, kr1, kr2] = await Promise.all([
    onboard(stack, 'kira', 'awaiting_verification'), onboard(stack, 'kira', 'awaiting_verification'),
    onboard(stack, 'kira', 'awaiting_verification'), onboard(stack, 'kira', 'awaiting_verification'),
    onboard(stack, 'kraken', 'awaiting_verification'), onboard(stack, 'kraken', 'awaiting_verification'),
  ]);
  const missingData = onboard(stack, 'kira', 'escalated', { sourceOfFunds: undefined });
  for (const c of [k1, k2]) expect((await deliverKira(stack.url, kiraEvent('user.verification.accepted', c.providerUserId))).status).toBe(202);
  expect((await deliverKira(stack.url, kiraEvent('user.verification.failed', k3.providerUserId, { reasons: ['Sanctions screening match'] }))).status).toBe(202);
  expect((await deliverKraken(stack.url, krakenEvent('user.verified', kr1.providerUserId))).status).toBe(202);
  await Promise.all([until(stack, k1.caseId, 'verified'), until(stack, k2.caseId, 'verified'), until(stack, k3.caseId, 'escalated'), until(stack, kr1.caseId, 'verified'), missingData]);
  await eventsSettled(stack);
  const all = [k1, k2, k3, k4, kr1, kr2, await missingData];
  return { caseIds: all.map((c) => c.caseId as string), kiraUsers: [k1, k2, k3, k4].map((c) => c.providerUserId as string), krakenUsers: [kr1, kr2].map((c) => c.providerUserId as string) };
}

beforeAll(async () => {
  p = await startProviders();
  const seeding = await startFullStack(p);
  prefix = seeding.config.QUEUE_PREFIX;
  const seeded = await seedCases(seeding);
  await stopKeepingData(seeding);
  svc = await startFullStack(p, { role: 'api', env: { QUEUE_PREFIX: prefix } });
  client = createClient(svc.url, BATCH);
  t = { token: TOKEN, kiraSecrets: SECRETS, krakenSecrets: KRAKEN_SECRETS, ...seeded };
}, 60_000);

afterAll(async () => {
  client?.close();
  await svc?.close();
  await p?.close();
});

function record(res: RawResponse): void {
  stats.sent += 1;
  stats.byStatus[res.status] = (stats.byStatus[res.status] ?? 0) + 1;
  if (res.status >= 500) stats.fiveXX += 1;
}

/** Sends every spec of each generated batch concurrently and checks the universal properties. */
async function fuzz(arb: fc.Arbitrary<Spec>, numRuns: number, check: (spec: Spec, res: RawResponse, where: string) => void): Promise<void> {
  await fc.assert(fc.asyncProperty(fc.array(arb, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
    await Promise.all(batch.map(async (spec) => {
      const req = toRequest(spec, t);
      const what = `${req.method} ${req.path.slice(0, 120)} ${JSON.stringify(req.headers).slice(0, 400)} ${req.body?.length ?? 0}b${req.chunked ? ' chunked' : ''} ${JSON.stringify(req.body?.subarray(0, 300).toString('utf8') ?? '')}`;
      const res = await client.send(req).catch((err: Error) => {
        throw new Error(`no answer to ${what}: ${err.message}`);
      });
      record(res);
      const where = `${what} → ${res.status} ${res.body.slice(0, 200)} [after, on the same connection: ${res.previous ?? 'nothing'}]`;
      expect(res.status, where).toBeLessThan(500);
      if (res.status >= 400) expectProblem(res, req.method, where);
      check(spec, res, where);
    }));
    // No shrinking: a batch of concurrent requests shrinks slowly and into misleading examples;
    // the failing request is in the message, and the reported seed replays the run.
  }), { numRuns, endOnFailure: true, ...(seed === undefined ? {} : { seed }) });
}

// ---- what is generated -----------------------------------------------------------------------

const BASE = applicant({ externalId: 'fz-base' });
const realOr = (xs: () => readonly string[]) => fc.constant(null).chain(() => fc.constantFrom(...xs()));
const junkJson = fc.jsonValue();
/** Bodies that look like what the API takes: valid applicants, one field broken, patches, resolutions. */
const apiBodies = fc.oneof(
  fc.record({ provider: fc.oneof(fc.constantFrom('kira', 'kraken', 'wealthyhood'), fc.string()), applicant: fc.oneof(
    fc.uuid().map((u) => ({ ...BASE, externalId: `fz-${u}` })),
    fc.tuple(fc.uuid(), fc.constantFrom(...Object.keys(BASE)), junkJson).map(([u, k, v]) => ({ ...BASE, externalId: `fz-${u}`, [k]: v })),
    junkJson) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.dictionary(fc.constantFrom(...Object.keys(BASE), 'x'), junkJson, { maxKeys: 3 }).map((o) => JSON.stringify(o)),
  fc.constantFrom('{"sourceOfFunds":"salary"}', '{"firstName":"Eve"}', '{"action":"retry"}', '{"action":"reject","note":"x"}'),
  fc.record({ action: fc.oneof(fc.constantFrom('retry', 'reject'), fc.string()), note: junkJson }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
);

function webhookSpecs(signature: fc.Arbitrary<WebhookSpec['signature']>, provider = providers, users?: fc.Arbitrary<string>): fc.Arbitrary<Spec> {
  return fc.record({
    target: fc.constant('webhook' as const), provider, suffix: suffixes,
    body: bodies(users ?? realOr(() => t.kiraUsers), users ?? realOr(() => t.krakenUsers)), framing, signature,
  });
}

function apiSpecs(auth: fc.Arbitrary<string | undefined>): fc.Arbitrary<ApiSpec> {
  return fc.record({
    target: fc.constant('api' as const), method: methods, path: fc.constant(null).chain(() => apiPaths(t)),
    body: fc.oneof(bodies(realOr(() => t.kiraUsers), realOr(() => t.krakenUsers)), apiBodies), framing, auth,
  });
}

const otherPaths = (auth: fc.Arbitrary<string | undefined>) => fc.record({
  target: fc.constant('api' as const), method: methods,
  path: fc.constantFrom('/', '/healthz', '/readyz', '/openapi.json', '/admin/queues', '/admin/queues/api/queues', '/webhooks', '/webhooks/', '/%2e%2e/v1/cases', '/v1/../healthz', '/favicon.ico', '/%', '/webhooks/kira/../../v1/cases'),
  body: fc.option(fc.string(), { nil: undefined }), framing, auth,
});

/** Whether the API would accept this body as a valid command (excluded from the "invalid" phase). */
function acceptable(spec: ApiSpec): boolean {
  if (spec.body === undefined) return false;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(spec.body).toString('utf8'));
  } catch {
    return false;
  }
  return [OnboardingRequest, ApplicantPatchRequest, ResolveRequest].some((s) => s.safeParse(json).success);
}

const isV1 = (path: string): boolean => /^\/v1(?:[/?]|$)/i.test(path);

// ---- the properties ----------------------------------------------------------------------------

describe('fuzzing /webhooks/* and /v1/* (fast-check)', () => {
  it(`answers ${(RUNS.unauthenticated + RUNS.invalid + RUNS.signedGarbage) * BATCH} generated requests without a 5xx, and changes nothing without a valid signature or token`, async () => {
    const cases0 = await caseSnapshot(svc);
    const redis0 = await redisSnapshot(prefix);
    expect(Object.keys(cases0)).toHaveLength(t.caseIds.length);

    // 1. No valid signature or token: webhooks with forged / almost-valid signatures, /v1 with bad tokens.
    await fuzz(fc.oneof(
      { arbitrary: webhookSpecs(badSignatures(t)), weight: 5 },
      { arbitrary: apiSpecs(badAuth(t)), weight: 4 },
      { arbitrary: otherPaths(badAuth(t)), weight: 1 },
    ), RUNS.unauthenticated, (spec, res, where) => {
      expect([201, 202], where).not.toContain(res.status);
      if (spec.target === 'api' && isV1(spec.path)) expect(res.status, where).toBe(401);
    });
    expect(changedKeys(redis0, await redisSnapshot(prefix))).toEqual([]);

    // 2. A valid token, but every body, id and query invalid.
    await fuzz(apiSpecs(fc.constant(`Bearer ${TOKEN}`)).filter((s) => !acceptable(s)), RUNS.invalid, (_spec, res) => {
      expect([201, 202]).not.toContain(res.status);
    });
    expect(changedKeys(redis0, await redisSnapshot(prefix))).toEqual([]);

    // 3. Validly signed garbage, naming no existing user: acknowledged or refused, never a 5xx.
    const valid = fc.record({ kind: fc.constant('valid' as const), secret: fc.nat(), header: fc.nat(), extraV1: fc.array(fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }), { maxLength: 2 }) });
    await fuzz(webhookSpecs(valid, fc.constantFrom('kira', 'kraken'), fc.uuid().map((u) => `fz-${u}`)), RUNS.signedGarbage, (spec, res, where) => {
      expect(spec.target === 'webhook' && spec.suffix === '/extra' ? [404] : [202, 400, 413, 415], where).toContain(res.status);
    });
    const caseKeys = changedKeys(redis0, await redisSnapshot(prefix)).filter((k) => /:(case|status|cases|ext|puser|reconcile)(:|$)/.test(k.slice(prefix.length)));
    expect(caseKeys).toEqual([]);

    // The process is up and every case is exactly as before.
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
    expect(await caseSnapshot(svc)).toEqual(cases0);
    expect(stats.fiveXX).toBe(0);
    expect(stats.sent).toBeGreaterThanOrEqual(5_000);
    console.info(`fuzz figures: ${JSON.stringify(stats)}`);
  }, 120_000 * SCALE);

  it('would notice a change: a validly signed event for a seeded user does change Redis', async () => {
    const before = await redisSnapshot(prefix);
    const res = await deliverKira(svc.url, kiraEvent('user.verification.accepted', t.kiraUsers[3]!));
    expect(res.status).toBe(202);
    expect(changedKeys(before, await redisSnapshot(prefix)).length).toBeGreaterThan(0);
  });
});
