/**
 * Security headers (helmet) on every kind of answer, and the queue UI only behind basic auth:
 * not mounted without ADMIN_PASSWORD; with it, no or wrong credentials get 401 on the page, its
 * API (reads and actions) and its static assets; in a real browser the page renders under its
 * Content-Security-Policy with no violation.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, TOKEN, type Stack } from '../helpers/stack.js';
import { requireTools } from '../integration/observability-tools.js';

const PASSWORD = 'queue-ui-password-sec';
const CHROMIUM = '/usr/bin/chromium';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
// A real asset of the UI (its bundle name carries a content hash).
const MAIN_JS = `static/js/${readdirSync('node_modules/@bull-board/ui/dist/static/js').find((f) => /^main\..*\.js$/.test(f))!}`;
const UI_PATHS = ['/admin/queues', '/admin/queues/', '/admin/queues/queue/kyc-events', '/admin/queues/api/queues', `/admin/queues/${MAIN_JS}`, '/admin/queues/static/favicon.ico'];

let withUi: Stack;
let withoutUi: Stack;
beforeAll(async () => {
  [withUi, withoutUi] = await Promise.all([startStack({ role: 'api', env: { ADMIN_PASSWORD: PASSWORD } }), startStack({ role: 'api' })]);
});
afterAll(async () => {
  await withUi?.close();
  await withoutUi?.close();
});

describe('helmet headers', () => {
  it('are on API, webhook, health, metrics and error answers, with a CSP that lets nothing load', async () => {
    const answers = await Promise.all([
      fetch(`${withUi.url}/healthz`),
      fetch(`${withUi.url}/metrics`),
      fetch(`${withUi.url}/openapi.json`),
      fetch(`${withUi.url}/v1/cases`, { headers: { authorization: `Bearer ${TOKEN}` } }),
      fetch(`${withUi.url}/v1/cases`),
      fetch(`${withUi.url}/webhooks/kira`, { method: 'POST', body: '{}' }),
      fetch(`${withUi.url}/no/such/route`),
    ]);
    for (const res of answers) {
      const h = res.headers;
      expect(h.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
      expect(h.get('x-content-type-options')).toBe('nosniff');
      expect(h.get('x-frame-options')).toBe('DENY');
      expect(h.get('referrer-policy')).toBe('no-referrer');
      expect(h.get('strict-transport-security')).toMatch(/^max-age=\d+/);
      expect(h.get('cross-origin-resource-policy')).toBe('same-origin');
      expect(h.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(h.get('x-powered-by')).toBeNull();
    }
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 401, 401, 404]);
  });

  it("give the queue UI helmet's page policy, without upgrade-insecure-requests", async () => {
    const res = await fetch(`${withUi.url}/admin/queues`, { headers: { authorization: basic('admin', PASSWORD) } });
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('/admin/queues', () => {
  it('is not mounted without ADMIN_PASSWORD: its page, API and assets are 404', async () => {
    for (const path of UI_PATHS) {
      const res = await fetch(`${withoutUi.url}${path}`, { headers: { authorization: basic('admin', PASSWORD) } });
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }
  });

  it('answers 401 without or with wrong credentials, on the page, its API and its static assets', async () => {
    const wrong = [undefined, basic('admin', 'not-the-password'), basic('root', PASSWORD), basic('admin', `${PASSWORD}x`), basic('', ''),
      `Bearer ${PASSWORD}`, 'Basic !!!', `Basic ${Buffer.from(`admin${PASSWORD}`).toString('base64')}`, basic('ADMIN', PASSWORD)];
    for (const path of UI_PATHS) {
      for (const auth of wrong) {
        const res = await fetch(`${withUi.url}${path}`, { headers: auth ? { authorization: auth } : {} });
        expect(res.status, `${path} with ${auth ?? 'no credentials'}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
        expect(await res.text()).not.toMatch(/kyc-events|<script/);
      }
    }
    for (const path of UI_PATHS.filter((p) => p !== '/admin/queues/')) {
      expect((await fetch(`${withUi.url}${path}`, { headers: { authorization: basic('admin', PASSWORD) } })).status, path).toBe(200);
    }
  });

  it('refuses its actions without credentials: a PUT that would pause a queue leaves it running', async () => {
    const events = withUi.svc.producer.queues().find((q) => q.name === 'kyc-events')!;
    for (const path of ['/admin/queues/api/queues/kyc-events/pause', '/admin/queues/api/queues/pause']) {
      const res = await fetch(`${withUi.url}${path}`, { method: 'PUT', headers: { authorization: basic('admin', 'wrong-password') } });
      expect(res.status).toBe(401);
    }
    expect(await events.isPaused()).toBe(false);
    // The same call with the password does pause it (so the 401 above is what stopped it).
    const ok = await fetch(`${withUi.url}/admin/queues/api/queues/kyc-events/pause`, { method: 'PUT', headers: { authorization: basic('admin', PASSWORD) } });
    expect(ok.status).toBe(200);
    expect(await events.isPaused()).toBe(true);
    await events.resume();
  });

  it.skipIf(!requireTools(CHROMIUM))('renders in a real browser under its CSP, with no violation reported', async () => {
    const profile = mkdtempSync(join(tmpdir(), 'kyc-chromium-csp-'));
    const ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
      httpCredentials: { username: 'admin', password: PASSWORD },
    });
    try {
      const page = await ctx.newPage();
      const violations: string[] = [];
      page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
      await page.goto(`${withUi.url}/admin/queues`);
      await page.getByText('kyc-events', { exact: true }).first().waitFor({ state: 'visible', timeout: 15_000 });
      expect(violations).toEqual([]);
    } finally {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
    }
  }, 30_000);
});
