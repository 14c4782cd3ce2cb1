/**
 * Logs of a full end-to-end run: JSON lines with request ids, one line per request and per job
 * outcome, and none of the applicants' personal data or any secret.
 */
import { createHmac, randomInt } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.js';
import { applicant, SECRETS, startStack, TOKEN, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const letters = (n: number) => Array.from({ length: n }, () => 'bcdfghjklmnpqrstvwxz'[randomInt(20)]).join('');
const name = () => `Q${letters(9)}`;

/** An applicant whose every personal value is unique, so a hit in the logs can only be a leak. */
function person(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const first = name();
  const doc = `D${randomInt(1e8, 1e9)}`;
  return applicant({
    firstName: first, lastName: name(), middleName: name(),
    email: `${first.toLowerCase()}.${letters(6)}@example.org`,
    phone: `+49151${randomInt(1e7, 1e8)}`,
    dateOfBirth: `19${randomInt(50, 99)}-0${randomInt(1, 10)}-1${randomInt(0, 10)}`,
    address: { line1: `${name()}strasse ${randomInt(100, 999)}`, city: 'Berlin', postalCode: `1${randomInt(1000, 9999)}`, region: 'BE', country: 'DE' },
    taxIds: [{ id: `${randomInt(1e10, 1e11)}`, country: 'DE' }],
    identityDocument: { type: 'passport', number: doc, country: 'DE', expiresOn: '2031-05-06' },
    ...overrides,
  });
}

/** Every personal value of an applicant that must never reach a log. */
function personalValues(a: Record<string, any>): string[] {
  return [
    a.firstName, a.lastName, a.middleName, a.email, a.phone, a.dateOfBirth,
    a.identityDocument?.number, a.address?.line1, a.address?.postalCode, ...(a.taxIds ?? []).map((t: { id: string }) => t.id),
  ].filter((v): v is string => typeof v === 'string');
}

describe('logs of an end-to-end run', () => {
  it('are JSON lines with request ids, one per request and per job outcome, and carry no personal data or secrets', async () => {
    stack = await startStack({ env: { PREFLIGHT: 'enforce', ADMIN_PASSWORD: 'admin-secret-4711' } });
    const s = stack;
    let n = 0;
    const requestIds: string[] = [];
    async function call(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: any; sent: string; requestId: string | null }> {
      const id = `test-req-${++n}`;
      requestIds.push(id);
      const res = await fetch(`${s.url}${path}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: { authorization: `Bearer ${TOKEN}`, 'x-request-id': id, 'content-type': 'application/json' },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, sent: id, requestId: res.headers.get('x-request-id') };
    }
    const onboard = async (a: Record<string, unknown>) => {
      const r = await call('/v1/onboardings', { body: { provider: 'kira', applicant: a } });
      expect(r.status).toBe(202);
      expect(r.requestId).toBe(r.sent); // x-request-id honoured and echoed
      return r.body.caseId as string;
    };
    const until = (id: string, status: string) =>
      waitFor(async () => (await call(`/v1/cases/${id}`)).body.status === status, { timeoutMs: 20_000, what: `case ${status}`, intervalMs: 100 });

    const people = {
      verified: person(),
      sanctioned: person({ lastName: 'Sanctioned' }),
      fraud: person({ lastName: 'Fraud' }),
      session: person({ firstName: 'Sessionexpired' }),
      expiredDoc: person({ identityDocument: { type: 'passport', number: `EXPIRED${randomInt(1e6, 1e7)}`, country: 'DE', expiresOn: '2031-05-06' } }),
      missingFunds: person({ sourceOfFunds: undefined }),
    };
    const ids = Object.fromEntries(await Promise.all(Object.entries(people).map(async ([k, a]) => [k, await onboard(a)] as const)));
    await until(ids.verified!, 'verified');
    await until(ids.sanctioned!, 'escalated');
    await until(ids.fraud!, 'rejected');
    await until(ids.session!, 'verified');
    await until(ids.expiredDoc!, 'escalated');
    await until(ids.missingFunds!, 'escalated');

    // The partner supplies the missing data; an operator rejects the expired document.
    expect((await call(`/v1/cases/${ids.missingFunds}/applicant`, { method: 'PATCH', body: { sourceOfFunds: 'salary', phone: people.missingFunds.phone } })).status).toBe(202);
    await until(ids.missingFunds!, 'verified');
    expect((await call(`/v1/cases/${ids.expiredDoc}/resolve`, { body: { action: 'reject', note: `document of ${String(people.expiredDoc.lastName)} expired` } })).status).toBe(202);
    await until(ids.expiredDoc!, 'rejected');

    // Bad input that carries personal data: a 400 and a webhook with a bad signature.
    const bad = person({ email: `not-an-email-${letters(8)}` });
    expect((await call('/v1/onboardings', { body: { provider: 'kira', applicant: bad } })).status).toBe(400);
    const leakyBody = JSON.stringify({ event: 'user.verification.accepted', data: { event_id: 'x', user_id: 'y', first_name: people.verified.firstName, email: people.verified.email } });
    const forged = await fetch(`${s.url}/webhooks/kira`, { method: 'POST', body: leakyBody, headers: { 'x-signature-sha256': createHmac('sha256', 'wrong').update(leakyBody).digest('hex') } });
    expect(forged.status).toBe(401);
    // The queue UI with its password in the Authorization header.
    const admin = await fetch(`${s.url}/admin/queues`, { headers: { authorization: `Basic ${Buffer.from('admin:admin-secret-4711').toString('base64')}` } });
    expect(admin.status).toBe(200);
    await admin.text();

    await s.close();
    stack = undefined;
    const lines = s.logs.join('').split('\n').filter((l) => l.length > 0);
    const entries = lines.map((l) => JSON.parse(l) as Record<string, any>); // every line is JSON

    // No personal value of any applicant, no secret.
    const secrets = [TOKEN, ...SECRETS, s.config.KIRA_PASSWORD, s.config.KIRA_API_KEY, 'admin-secret-4711', Buffer.from('admin:admin-secret-4711').toString('base64')];
    const forbidden = [...Object.values(people), bad].flatMap(personalValues).filter((v) => !['Sanctioned', 'Fraud', 'Sessionexpired'].includes(v));
    expect(forbidden.length).toBeGreaterThan(50);
    const all = lines.join('\n');
    for (const v of [...forbidden, ...secrets]) expect(all.includes(v), `log leaks ${v}`).toBe(false);
    // The outcome-driving last names are dictionary words: they must not appear as values either.
    for (const v of ['Sanctioned', 'Fraud', 'Sessionexpired']) expect(all).not.toMatch(new RegExp(`"[^"]*\\b${v}\\b[^"]*"`));

    // One line per request, carrying its request id.
    for (const id of requestIds) {
      const mine = entries.filter((e) => e.req?.id === id);
      expect(mine, id).toHaveLength(1);
      expect(mine[0]).toMatchObject({ msg: 'request completed', req: { id } });
    }
    expect(entries.filter((e) => e.msg === 'request completed' && e.req?.path === '/webhooks/kira').length).toBeGreaterThanOrEqual(7);

    // One line per job outcome: each case's create job, and each webhook event job.
    const outcomes = entries.filter((e) => ['job completed', 'job failed; will be retried', 'job failed for good', 'job rate-limited; queue paused for Retry-After'].includes(e.msg));
    for (const id of Object.values(ids)) {
      const creates = outcomes.filter((e) => e.jobId === `create-${id}-0`);
      expect(creates.filter((e) => e.msg === 'job completed'), `create job of ${id}`).toHaveLength(1);
    }
    expect(outcomes.filter((e) => e.queue === 'kyc-events').length).toBeGreaterThanOrEqual(7);
    const byAttempt = new Map<string, number>();
    for (const e of outcomes) byAttempt.set(`${e.jobId}#${e.attempt}`, (byAttempt.get(`${e.jobId}#${e.attempt}`) ?? 0) + 1);
    expect([...byAttempt.values()].every((c) => c === 1)).toBe(true);
  });

  it('redacts applicant fields, whole applicants, bodies and auth / signature headers by construction', () => {
    const out: string[] = [];
    const log = createLogger({ level: 'info', destination: new Writable({ write(c: Buffer, _e, cb) { out.push(c.toString()); cb(); } }) });
    const a = person();
    log.info({ applicant: a }, 'whole applicant');
    log.info({ ...a }, 'spread applicant');
    log.info({ job: { ...a }, body: JSON.stringify(a) }, 'one level down');
    log.info({ req: { headers: { authorization: 'Bearer sekrit-token-1', 'x-signature-sha256': 'sig-abcdef', 'x-api-key': 'key-123456' } } }, 'headers');
    const text = out.join('');
    expect(out).toHaveLength(4);
    for (const v of [...personalValues(a), 'sekrit-token-1', 'sig-abcdef', 'key-123456']) expect(text, v).not.toContain(v);
    expect(text).toContain('[redacted]');
    expect(text).toContain(a.externalId as string); // the partner's own reference is kept: it is how cases are found
  });
});
