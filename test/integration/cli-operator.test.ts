/**
 * The operator commands as real child processes against real Redis: cases list/show/verify-audit
 * (with a tampered timeline), escalations list/resolve, dlq list/replay, and the error paths.
 * Cases are made through the store itself; no worker runs, so they stay where they are put.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Applicant } from '../../src/kyc/applicant.js';
import { createOutbox } from '../../src/notifications/outbox.js';
import type { RedisClient } from '../../src/queue/redis.js';
import { createCaseStore, type CaseStore } from '../../src/store/case-store.js';
import { connectRedis, dropPrefix, freePort, REDIS_URL, uniquePrefix } from '../helpers/redis.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin/kyc-orchestrator.mjs');
const HOUR = 3_600_000;

interface Done { code: number | null; stdout: string; stderr: string }

function cli(args: string[], env: Record<string, string>): Promise<Done> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', REDIS_URL, LOG_LEVEL: 'silent', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
  child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const missingFunds = [{ code: 'missing_data' as const, field: 'sourceOfFunds', providerText: 'sourceOfFunds is required by kira' }];

describe('kyc-orchestrator operator commands', () => {
  const prefix = uniquePrefix();
  const env = { QUEUE_PREFIX: prefix };
  let redis: RedisClient;
  let store: CaseStore;
  const ids = { queued: '', oldEscalation: '', newEscalation: '', dead: '' };

  async function escalated(externalId: string, at: Date): Promise<string> {
    const applicant: Applicant = { externalId, email: `${externalId}@example.com` };
    const { case: c } = await store.create('kira', applicant, new Date(at.getTime() - 60_000));
    const r = await store.apply(c.id, { kind: 'preflight_failed', reasons: missingFunds }, { now: at });
    expect(r.outcome).toBe('applied');
    return c.id;
  }

  beforeAll(async () => {
    redis = connectRedis(REDIS_URL);
    // Writes partner notifications with each decision, as the service does with PARTNER_WEBHOOK_URL.
    store = createCaseStore({ redis, prefix, policy: { maxAttempts: 3 }, pollSchedule: [60_000], notifications: true });
    const now = Date.now();
    ids.queued = (await store.create('kira', { externalId: 'op-queued' }, new Date(now - 3 * HOUR))).case.id;
    ids.oldEscalation = await escalated('op-old', new Date(now - 30 * HOUR));
    ids.newEscalation = await escalated('op-new', new Date(now - HOUR));
    ids.dead = await escalated('op-dead', new Date(now - 2 * HOUR));
    await createOutbox(redis, prefix).deadLetter(ids.dead, new Date(now - HOUR), { lastError: 'partner answered HTTP 503', failingSince: new Date(now - 25 * HOUR).toISOString() });
  });
  afterAll(async () => {
    redis.disconnect();
    await dropPrefix(prefix);
  });

  describe('cases', () => {
    it('lists cases as a table, filters by status, pages with a cursor', async () => {
      const all = await cli(['cases', 'list'], env);
      expect(all.code).toBe(0);
      expect(all.stdout).toMatch(/^CASE ID\s+STATUS\s+PROVIDER\s+EXTERNAL ID\s+ATTEMPTS\s+UPDATED\s+REASONS$/m);
      expect(all.stdout).toMatch(new RegExp(`^${ids.queued}\\s+queued\\s+kira\\s+op-queued\\s+0\\s`, 'm'));
      expect(all.stdout).toContain('4 cases');
      const esc = await cli(['cases', 'list', '--status', 'escalated', '--provider', 'kira'], env);
      expect(esc.stdout).toContain('3 cases');
      expect(esc.stdout).not.toContain('op-queued');
      expect(esc.stdout).toContain('missing_data:sourceOfFunds');
      const page = await cli(['cases', 'list', '--limit', '1'], env);
      const cursor = /--cursor (\S+)/.exec(page.stdout)?.[1];
      expect(cursor).toBeDefined();
      const next = await cli(['cases', 'list', '--limit', '1', '--cursor', cursor!, '--json'], env);
      const body = JSON.parse(next.stdout) as { items: { caseId: string }[] };
      expect(body.items).toHaveLength(1);
      expect(page.stdout).not.toContain(body.items[0]!.caseId);
      const bad = await cli(['cases', 'list', '--status', 'sleeping'], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^error: --status: /);
    });

    it('shows a case with its timeline rendered readably', async () => {
      const r = await cli(['cases', 'show', ids.oldEscalation], env);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Case ${ids.oldEscalation}`);
      expect(r.stdout).toMatch(/status:\s+escalated/);
      expect(r.stdout).toMatch(/OVERDUE: SLA 1d/);
      expect(r.stdout).toContain('Timeline (2 entries, oldest first):');
      expect(r.stdout).toMatch(/^#0 {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ {2}api {5}onboarding_received {2}∅ → queued$/m);
      expect(r.stdout).toMatch(/^#1 {2}\S+ \S+ {2}system {2}preflight_failed {5}queued → escalated$/m);
      expect(r.stdout).toContain('    reason: missing_data (sourceOfFunds): sourceOfFunds is required by kira');
      expect(r.stdout).toMatch(/^ {4}detail: supply sourceOfFunds/m);
      expect(r.stdout).not.toContain('op-old@example.com'); // applicant values are personal data
      const json = JSON.parse((await cli(['cases', 'show', ids.oldEscalation, '--json'], env)).stdout) as { timeline: unknown[] };
      expect(json.timeline).toHaveLength(2);
      const missing = await cli(['cases', 'show', 'no-such-case'], env);
      expect(missing.code).toBe(3);
      expect(missing.stderr).toBe('error: no such case: no-such-case\n');
    });

    it('verify-audit: OK on an intact chain; a tampered entry is reported at its index with exit 1', async () => {
      const id = (await store.create('kira', { externalId: 'op-audit' }, new Date())).case.id;
      await store.apply(id, { kind: 'preflight_failed', reasons: missingFunds }, { now: new Date() });
      await store.apply(id, { kind: 'resolve', action: 'reject', note: 'fraud ring' }, { now: new Date() });
      const ok = await cli(['cases', 'verify-audit', id], env);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toBe(`OK: case ${id}: audit chain intact, 3 entries verified\n`);

      const key = `${prefix}:case:${id}:tl`;
      const entry = JSON.parse((await redis.lindex(key, 1))!) as { detail: string };
      await redis.lset(key, 1, JSON.stringify({ ...entry, detail: 'nothing to see here' }));
      const broken = await cli(['cases', 'verify-audit', id], env);
      expect(broken.code).toBe(1);
      expect(broken.stdout).toBe(`BROKEN: case ${id}: first broken link at entry 1: entry 1 was modified after it was written\n`);

      expect((await cli(['cases', 'verify-audit', 'no-such-case'], env)).code).toBe(3);
      const usage = await cli(['cases', 'verify-audit'], env);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain("Run 'kyc-orchestrator cases verify-audit --help' for usage.");
    });
  });

  describe('escalations', () => {
    it('lists the review queue oldest first with the overdue flag', async () => {
      const r = await cli(['escalations', 'list'], env);
      expect(r.code).toBe(0);
      const rows = r.stdout.split('\n').filter((l) => /^[0-9a-f]{8}-[0-9a-f-]{27}\s/.test(l));
      expect(rows.map((l) => l.slice(0, 36))).toEqual([ids.oldEscalation, ids.dead, ids.newEscalation]);
      expect(rows[0]).toMatch(/\sOVERDUE\s/);
      expect(rows[1]).not.toMatch(/OVERDUE/);
      expect(rows[2]).not.toMatch(/OVERDUE/);
      expect(r.stdout).toContain('3 escalations, 1 overdue (SLA 1d)');
      const tight = await cli(['escalations', 'list'], { ...env, ESCALATION_SLA: '90m' });
      expect(tight.stdout).toContain('3 escalations, 2 overdue (SLA 1h 30m)');
    });

    it('resolves: retry re-queues the create, reject closes; wrong state, id or action fail clearly', async () => {
      const retry = await cli(['escalations', 'resolve', ids.newEscalation, 'retry', '--note', 'funds confirmed'], env);
      expect(retry.code).toBe(0);
      expect(retry.stdout).toBe(`case ${ids.newEscalation}: escalated → queued (resolved: retry); a create-user job is queued\n`);
      const c = await store.get(ids.newEscalation);
      expect(c?.status).toBe('queued');
      const q = new Queue('provider-kira', { connection: redis, prefix });
      expect(await q.getJob(`create-${ids.newEscalation}-1`)).toBeDefined();
      await q.close();
      const { entries } = await store.timeline(ids.newEscalation);
      expect(entries.at(-1)).toMatchObject({ source: 'operator', event: 'resolved_retry', detail: 'operator: funds confirmed' });

      const again = await cli(['escalations', 'resolve', ids.newEscalation, 'reject'], env);
      expect(again.code).toBe(1);
      expect(again.stderr).toBe(`error: cannot resolve case ${ids.newEscalation}: case is queued, not escalated\n`);
      expect((await cli(['escalations', 'resolve', 'no-such-case', 'reject'], env)).code).toBe(3);
      const badAction = await cli(['escalations', 'resolve', ids.oldEscalation, 'approve'], env);
      expect(badAction.code).toBe(2);
      expect(badAction.stderr).toContain('action must be retry or reject (got "approve")');

      // With a partner URL configured, the resolution is notified like any decision the service takes.
      const partner = { PARTNER_WEBHOOK_URL: 'http://127.0.0.1:9/partner', PARTNER_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}` };
      const reject = await cli(['escalations', 'resolve', ids.oldEscalation, 'reject'], { ...env, ...partner });
      expect(reject.code).toBe(0);
      expect(reject.stdout).toBe(`case ${ids.oldEscalation}: escalated → rejected (resolved: reject); the case is closed\n`);
      expect((await store.get(ids.oldEscalation))?.status).toBe('rejected');
      const outbox = await createOutbox(redis, prefix).items(ids.oldEscalation);
      expect(outbox.map((n) => (JSON.parse(n) as { type: string }).type)).toEqual(['case.escalated', 'case.escalation_resolved']);
      const notifications = new Queue('notifications', { connection: redis, prefix });
      expect(await notifications.getJob(`notify-${ids.oldEscalation}`)).toBeDefined();
      await notifications.close();
    });
  });

  describe('dlq', () => {
    it('lists dead-lettered notifications; replay --dry-run changes nothing; replay sends them again', async () => {
      const outbox = createOutbox(redis, prefix);
      const list = await cli(['dlq', 'list'], env);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(new RegExp(`^${ids.dead}\\s+1\\s+.*partner answered HTTP 503$`, 'm'));
      expect(list.stdout).toContain('1 case, 1 notification');

      const dry = await cli(['dlq', 'replay', '--all', '--dry-run'], env);
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain(`would replay case ${ids.dead}: 1 notification`);
      expect(dry.stdout).toMatch(/- case\.escalated \S+/);
      expect(dry.stdout).toContain('dry run: 1 case, 1 notification would be replayed; nothing was changed');
      expect(await outbox.isDeadLettered(ids.dead)).toBe(true);
      expect(await outbox.isPending(ids.dead)).toBe(false);

      const replay = await cli(['dlq', 'replay', ids.dead], env);
      expect(replay.code).toBe(0);
      expect(replay.stdout).toContain(`replayed case ${ids.dead}: 1 notification queued for delivery`);
      expect(await outbox.isDeadLettered(ids.dead)).toBe(false);
      expect(await outbox.isPending(ids.dead)).toBe(true);
      const q = new Queue('notifications', { connection: redis, prefix });
      expect(await q.getJob(`notify-${ids.dead}`)).toBeDefined();
      await q.close();

      const twice = await cli(['dlq', 'replay', ids.dead], env);
      expect(twice.code).toBe(3);
      expect(twice.stderr).toContain(`case ${ids.dead} has no dead-lettered notifications`);
      expect((await cli(['dlq', 'list'], env)).stdout).toBe('no dead-lettered notifications\n');
      expect((await cli(['dlq', 'replay'], env)).code).toBe(2);
      expect((await cli(['dlq', 'replay', ids.dead, '--all'], env)).code).toBe(2);
    });
  });

  describe('errors', () => {
    it('unknown commands and options are usage errors (exit 2) with a pointer to --help', async () => {
      const unknown = await cli(['frobnicate'], env);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toBe("error: unknown command \"frobnicate\"\nRun 'kyc-orchestrator --help' for usage.\n");
      const sub = await cli(['cases', 'delete', 'x'], env);
      expect(sub.code).toBe(2);
      expect(sub.stderr).toContain('cases has: list, show, verify-audit');
      const opt = await cli(['escalations', 'list', '--verbose'], env);
      expect(opt.code).toBe(2);
      expect(opt.stderr).toContain("Unknown option '--verbose'");
      const help = await cli(['--help'], env);
      expect(help.code).toBe(0);
      for (const c of ['onboard', 'cases list', 'cases show', 'cases verify-audit', 'escalations list', 'escalations resolve', 'dlq list', 'dlq replay']) {
        expect(help.stdout).toContain(`  ${c}`);
      }
      const config = await cli(['cases', 'list'], { QUEUE_PREFIX: 'no spaces allowed' });
      expect(config.code).toBe(2);
      expect(config.stderr).toMatch(/^config: QUEUE_PREFIX: /);
    });

    it('Redis unreachable: one clear line and exit 1, no stack trace', async () => {
      const port = await freePort();
      const r = await cli(['cases', 'list'], { ...env, REDIS_URL: `redis://:s3cret@127.0.0.1:${port}` });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`error: cannot reach Redis at redis://:***@127.0.0.1:${port} (waited 5 s): check REDIS_URL and that Redis is running\n`);
      expect(r.stdout).toBe('');
    }, 20_000);

    it('Redis Cluster unreachable: the same line, the cluster URL with its password redacted', async () => {
      const [a, b] = [await freePort(), await freePort()];
      const r = await cli(['cases', 'list'], { ...env, REDIS_URL: `redis+cluster://:s3cret@127.0.0.1:${a},127.0.0.1:${b}` });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`error: cannot reach Redis at redis+cluster://:***@127.0.0.1:${a},127.0.0.1:${b} (waited 5 s): check REDIS_URL and that Redis is running\n`);
      expect(r.stdout).toBe('');
    }, 20_000);
  });
});
