/**
 * `kyc-orchestrator onboard` as a real child process against real Redis: 1,000 JSONL lines with 3
 * invalid ones, interrupted (SIGKILL, SIGINT) and re-run, never creating a case twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../src/queue/redis.js';
import { connectRedis, dropPrefix, REDIS_URL, startOwnRedis, uniquePrefix } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin/kyc-orchestrator.mjs');

interface Done { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function start(args: string[], prefix: string, redisUrl = REDIS_URL): { child: ChildProcess; done: Promise<Done> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT, env: { PATH: process.env.PATH ?? '', REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => { stdout += b.toString(); });
  child.stderr?.on('data', (b: Buffer) => { stderr += b.toString(); });
  const done = new Promise<Done>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

function applicantLine(i: number, run: string): string {
  if (i === 17) return '{"externalId": "broken-17", "email": ';
  if (i === 500) return JSON.stringify({ externalId: `${run}-500`, email: 'not-an-email', dateOfBirth: '1990/01/01' });
  if (i === 999) return JSON.stringify({ email: 'nobody@example.com', firstName: 'No', lastName: 'Id' });
  return JSON.stringify({
    externalId: `${run}-${i}`, email: `p${i}@example.com`, phone: '+4915112345678', firstName: 'Erika', lastName: 'Mustermann',
    dateOfBirth: '1988-02-03', nationalities: ['DE'], sourceOfFunds: 'salary',
    address: { line1: 'Hauptstr. 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
  });
}

/** Summary table row → number, e.g. `created   997`. */
function row(stdout: string, label: string): number {
  const m = new RegExp(`^${label.replace(/[()]/g, '\\$&')}\\s+(\\d+)$`, 'm').exec(stdout);
  if (!m) throw new Error(`no "${label}" row in:\n${stdout}`);
  return Number(m[1]);
}

describe('kyc-orchestrator onboard', () => {
  let dir: string;
  let file: string;
  let lines: string[];
  /** A longer file for the SIGINT test, so the interrupt surely lands mid-run. */
  let longFile: string;
  let prefix: string;
  let redis: RedisClient;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kyc-cli-'));
    file = join(dir, 'applicants.jsonl');
    const run = `cli-${Date.now().toString(36)}`;
    lines = Array.from({ length: 1000 }, (_, k) => applicantLine(k + 1, run));
    writeFileSync(file, `${lines.join('\n')}\n`);
    longFile = join(dir, 'long.jsonl');
    writeFileSync(longFile, `${Array.from({ length: 5000 }, (_, k) => applicantLine(k + 1, `${run}-long`)).join('\n')}\n`);
    redis = connectRedis(REDIS_URL);
  });
  afterAll(() => {
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => { prefix = uniquePrefix(); });
  afterEach(async () => { await dropPrefix(prefix); });

  const cases = (): Promise<number> => redis.zcard(`${prefix}:cases`);

  async function createUserJobs(): Promise<number> {
    const q = new Queue('provider-kira', { connection: redis, prefix });
    try {
      const counts = await q.getJobCounts('waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed');
      return Object.values(counts).reduce((a, b) => a + b, 0);
    } finally {
      await q.close();
    }
  }

  async function distinctExternalIds(): Promise<number> {
    const ids = await redis.zrange(`${prefix}:cases`, '0', '-1');
    const docs = await Promise.all(ids.map((id) => redis.hget(`${prefix}:case:${id}`, 'doc')));
    return new Set(docs.map((d) => (JSON.parse(d!) as { externalId: string }).externalId)).size;
  }

  it('creates 997 cases, reports the 3 invalid lines by number, and a re-run after SIGKILL creates no duplicates', async () => {
    // The first run reads the file's first 600 lines from stdin and is killed while at work: it
    // cannot have finished, whatever the machine's speed (the other 400 lines never arrive).
    const first = start(['onboard', '--provider', 'kira', '--file', '-', '--concurrency', '4'], prefix);
    first.child.stdin?.write(`${lines.slice(0, 600).join('\n')}\n`);
    await waitFor(async () => (await cases()) >= 100, { timeoutMs: 20_000, what: '100 cases in Redis' });
    first.child.kill('SIGKILL');
    expect((await first.done).signal).toBe('SIGKILL');
    const afterKill = await cases();
    expect(afterKill).toBeGreaterThanOrEqual(100);
    expect(afterKill).toBeLessThanOrEqual(598); // lines 1-600 hold 2 invalid ones

    const second = await start(['onboard', '--provider', 'kira', '--file', file], prefix).done;
    expect(second.code).toBe(4); // finished, but the file had invalid lines
    expect(row(second.stdout, 'created') + row(second.stdout, 'already existing')).toBe(997);
    expect(row(second.stdout, 'created')).toBe(997 - afterKill);
    expect(row(second.stdout, 'invalid (skipped)')).toBe(3);
    expect(row(second.stdout, 'failed')).toBe(0);
    expect(row(second.stdout, 'total lines')).toBe(1000);
    const invalid = second.stderr.split('\n').filter((l) => / invalid: /.test(l));
    expect(invalid).toEqual([
      expect.stringMatching(/^line 17: invalid: not valid JSON/),
      expect.stringMatching(/^line 500: invalid: email: .*; dateOfBirth: must be a date YYYY-MM-DD$/),
      expect.stringMatching(/^line 999: invalid: externalId: /),
    ]);
    expect(second.stdout).toContain('invalid lines: 17, 500, 999');

    expect(await cases()).toBe(997);
    expect(await distinctExternalIds()).toBe(997);
    expect(await createUserJobs()).toBe(997); // one create-user job per case, none twice

    const third = await start(['onboard', '--provider', 'kira', '--file', file], prefix).done;
    expect(third.code).toBe(4);
    expect(row(third.stdout, 'created')).toBe(0);
    expect(row(third.stdout, 'already existing')).toBe(997);
    expect(await cases()).toBe(997);
    expect(await createUserJobs()).toBe(997);
  }, 60_000);

  it('stops cleanly on SIGINT (summary, exit 130, checkpoint) and resumes after the checkpoint', async () => {
    const checkpoint = join(dir, `cp-${prefix}.json`);
    const args = ['onboard', '-p', 'kira', '-f', longFile, '-c', '1', '--checkpoint', checkpoint];
    const first = start(args, prefix);
    await waitFor(async () => (await cases()) >= 100, { timeoutMs: 20_000, what: '100 cases in Redis' });
    first.child.kill('SIGINT');
    const stopped = await first.done;
    expect(stopped.code).toBe(130);
    expect(stopped.stdout).toMatch(/interrupted: re-run the same command to resume/);
    expect(row(stopped.stdout, 'not attempted')).toBeGreaterThan(0);
    const created = row(stopped.stdout, 'created');
    expect(await cases()).toBe(created); // everything in flight finished and was counted
    const cp = JSON.parse(readFileSync(checkpoint, 'utf8')) as { doneThrough: number };
    expect(cp.doneThrough).toBeGreaterThanOrEqual(created);

    const second = await start([...args, '-c', '8'], prefix).done; // the last -c wins
    expect(second.code).toBe(4);
    expect(second.stderr).toContain(`lines 1-${cp.doneThrough} were finished by an earlier run`);
    const skipped = row(second.stdout, 'done in an earlier run (checkpoint)');
    expect(skipped).toBe(cp.doneThrough - (cp.doneThrough >= 17 ? 1 : 0) - (cp.doneThrough >= 500 ? 1 : 0));
    expect(skipped + row(second.stdout, 'created') + row(second.stdout, 'already existing')).toBe(4997);
    expect(row(second.stdout, 'invalid (skipped)')).toBe(3); // still reported: validation is cheap
    expect(await cases()).toBe(4997);
    expect(await createUserJobs()).toBe(4997);
  }, 60_000);

  it('stops when Redis goes away mid-run (exit 1, failed lines named); the re-run completes without duplicates', async () => {
    const own = await startOwnRedis(); // fsync always: whatever Redis acknowledged survives its kill
    const r = connectRedis(own.url); // its own standalone Redis, whatever REDIS_URL says
    r.on('error', () => undefined); // this test's own client while Redis is down
    try {
      const first = start(['onboard', '--provider', 'kira', '--file', '-', '--concurrency', '4'], prefix, own.url);
      first.child.stdin?.write(`${lines.slice(0, 600).join('\n')}\n`);
      await waitFor(async () => (await r.zcard(`${prefix}:cases`)) >= 100, { timeoutMs: 20_000, what: '100 cases in Redis' });
      await own.stop('SIGKILL');
      const stopped = await first.done;
      expect(stopped.code).toBe(1);
      expect(stopped.stdout).toContain('stopped after 20 failures in a row (is Redis reachable?): re-run the same command to resume');
      expect(row(stopped.stdout, 'failed')).toBeGreaterThanOrEqual(20);
      expect(stopped.stderr).toMatch(/^line \d+: failed.*: Redis unavailable \(/m);
      expect(stopped.stderr).not.toMatch(/^\s+at /m); // no stack traces

      await own.start();
      const second = await start(['onboard', '--provider', 'kira', '--file', file], prefix, own.url).done;
      expect(second.code).toBe(4);
      expect(row(second.stdout, 'created') + row(second.stdout, 'already existing')).toBe(997);
      expect(await r.zcard(`${prefix}:cases`)).toBe(997);
      const q = new Queue('provider-kira', { connection: { url: own.url }, prefix });
      const counts = await q.getJobCounts('waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed');
      await q.close();
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(997); // also for a case created just before the outage
    } finally {
      r.disconnect();
      await own.cleanup();
    }
  }, 60_000);

  it('rejects bad arguments with a usage message and exit 2', async () => {
    const noFile = await start(['onboard', '--provider', 'kira'], prefix).done;
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain('error: --file is required');
    const badProvider = await start(['onboard', '--provider', 'acme', '--file', file], prefix).done;
    expect(badProvider.code).toBe(2);
    expect(badProvider.stderr).toContain('unknown provider "acme"');
    const missing = await start(['onboard', '--provider', 'kira', '--file', join(dir, 'nope.jsonl')], prefix).done;
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
    const help = await start(['onboard', '--help'], prefix).done;
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: kyc-orchestrator onboard --provider <id> --file <applicants.jsonl>');
    expect(await cases()).toBe(0);
  }, 30_000);
});
