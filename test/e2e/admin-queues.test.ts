/**
 * The queue UI in a real browser: Debian's headless Chromium driven by playwright-core logs into
 * /admin/queues with basic auth and sees the queues; a wrong password gets 401.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { applicant, startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import { requireTools } from '../integration/observability-tools.js';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = requireTools(CHROMIUM);
const PASSWORD = 'queue-ui-password-1';
// Playwright adds --headless itself (headless: true) and a user-data-dir (the persistent context's).
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function browser(credentials?: { username: string; password: string }): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'kyc-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: FLAGS, ...(credentials ? { httpCredentials: credentials } : {}),
  });
  cleanups.push(async () => { await ctx.close(); rmSync(profile, { recursive: true, force: true }); });
  return ctx;
}

async function stackWithWork(env: Record<string, string>, person = applicant()): Promise<Stack> {
  const stack = await startStack({ env });
  cleanups.push(() => stack.close());
  const r = await stack.api('/v1/onboardings', { body: { provider: 'kira', applicant: person } });
  expect(r.status).toBe(202);
  await waitFor(async () => (await stack.api(`/v1/cases/${r.body.caseId as string}`)).body.status === 'verified', { timeoutMs: 20_000, what: 'verified' });
  return stack;
}

describe.skipIf(!HAVE_CHROMIUM)('/admin/queues in headless Chromium', () => {
  it('logs in with basic auth and shows the queues', async () => {
    const person = applicant({ firstName: 'Quirinalda', email: 'quirinalda.x@example.org' });
    const stack = await stackWithWork({ ADMIN_PASSWORD: PASSWORD }, person);
    const ctx = await browser({ username: 'admin', password: PASSWORD });
    const page = await ctx.newPage();
    const res = await page.goto(`${stack.url}/admin/queues`);
    expect(res?.status()).toBe(200);
    for (const queue of ['kyc-events', 'provider-kira']) {
      await page.getByText(queue, { exact: true }).first().waitFor({ state: 'visible', timeout: 15_000 });
    }
    expect(await page.title()).toContain('kyc-orchestrator');
    // The dashboard's own API answers through the same auth, with our queues and their counts.
    const api = await page.request.get(`${stack.url}/admin/queues/api/queues`);
    expect(api.status()).toBe(200);
    const names = ((await api.json()) as { queues: { name: string }[] }).queues.map((q) => q.name);
    expect(names).toEqual(expect.arrayContaining(['kyc-events', 'provider-kira', 'reconcile']));
    // Open one queue: its completed create-user job is listed.
    await page.getByText('provider-kira', { exact: true }).first().click();
    await page.waitForURL(/\/admin\/queues\/queue\/provider-kira/);
    await page.getByText(/completed/i).first().waitFor({ state: 'visible', timeout: 15_000 });
    await page.getByText('caseId').first().waitFor({ state: 'visible', timeout: 15_000 });
    await page.screenshot({ path: join(tmpdir(), 'kyc-admin-queues.png'), fullPage: true });
    // Job data holds case ids, never the applicant.
    const html = await page.content();
    for (const v of ['Quirinalda', 'quirinalda.x@example.org', person.externalId as string]) expect(html).not.toContain(v);
  });

  it('answers 401 to a wrong password, in the browser and to plain requests', async () => {
    const stack = await stackWithWork({ ADMIN_PASSWORD: PASSWORD });
    const ctx = await browser({ username: 'admin', password: 'not-the-password' });
    const page = await ctx.newPage();
    const res = await page.goto(`${stack.url}/admin/queues`);
    expect(res?.status()).toBe(401);
    expect(await page.getByText('kyc-events').count()).toBe(0);

    const none = await fetch(`${stack.url}/admin/queues`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    const wrongUser = await fetch(`${stack.url}/admin/queues/api/queues`, { headers: { authorization: `Basic ${Buffer.from(`root:${PASSWORD}`).toString('base64')}` } });
    expect(wrongUser.status).toBe(401);
    const right = await fetch(`${stack.url}/admin/queues/api/queues`, { headers: { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` } });
    expect(right.status).toBe(200);
  });
});

describe('/admin/queues without ADMIN_PASSWORD', () => {
  it('is not mounted, and one log line says why', async () => {
    const stack = await startStack();
    cleanups.push(() => stack.close());
    expect((await fetch(`${stack.url}/admin/queues`)).status).toBe(404);
    const lines = stack.logs.filter((l) => l.includes('queue UI disabled'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('ADMIN_PASSWORD');
  });
});
