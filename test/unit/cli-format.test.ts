import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { doneThrough, identify, loadCheckpoint, saveCheckpoint } from '../../src/cli/checkpoint.js';
import { validateLine } from '../../src/cli/jsonl.js';
import { barLine, createProgress, plainLine } from '../../src/cli/progress.js';
import { parseCommandArgs, UsageError, type CommandSpec } from '../../src/cli/spec.js';
import { formatDuration, formatTime, renderTable, truncate } from '../../src/cli/table.js';

describe('renderTable', () => {
  it('pads columns to the widest cell, right-aligns numbers and cuts long cells', () => {
    const out = renderTable(
      [{ header: 'NAME' }, { header: 'N', align: 'right' }, { header: 'NOTE', maxWidth: 8 }],
      [['alpha', '1', 'short'], ['b', '1234', 'a rather long note']],
    );
    expect(out).toBe([
      'NAME      N  NOTE',
      '-----  ----  --------',
      'alpha     1  short',
      'b      1234  a rathe…',
      '',
    ].join('\n'));
  });
});

describe('formatters', () => {
  it('formats durations with the two largest units', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(45_000)).toBe('45s');
    expect(formatDuration(90 * 60_000)).toBe('1h 30m');
    expect(formatDuration(24 * 3_600_000)).toBe('1d');
    expect(formatDuration(26 * 3_600_000 + 61_000)).toBe('1d 2h');
  });
  it('formats times and truncates', () => {
    expect(formatTime('2025-01-31T12:00:03.123Z')).toBe('2025-01-31 12:00:03Z');
    expect(formatTime(undefined)).toBe('-');
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
  });
});

describe('progress', () => {
  const stats = { done: 250, total: 1000, counters: [['created', 240], ['invalid', 10]] as [string, number][] };

  it('draws a bar with percent, counts, rate and ETA, fitted to the terminal', () => {
    const line = barLine(stats, 1_000, 120, 'onboard');
    expect(line).toMatch(/^onboard \[█+░+\] {2}25% 250\/1000 · created 240 · invalid 10 · 250\/s · ETA 3s$/);
    expect([...barLine(stats, 1_000, 40, 'onboard')].length).toBeLessThanOrEqual(39);
  });

  it('shows counts without a bar, percentage or ETA when the total is unknown (stdin)', () => {
    const open = { done: 250, counters: [['created', 250]] as [string, number][] };
    expect(barLine(open, 1_000, 120, 'onboard')).toBe('onboard 250 lines · created 250 · 250/s');
    expect(plainLine(open, 1_000, 'onboard')).toBe('onboard: 250 lines created=250 250/s');
  });

  it('prints plain lines at most once per interval when the stream is not a terminal', () => {
    const written: string[] = [];
    let t = 0;
    const p = createProgress({ stream: { write: (s: string) => written.push(s) }, label: 'onboard', plainIntervalMs: 2_000, now: () => t });
    t = 500;
    p.update(stats);
    expect(written).toEqual([]);
    t = 2_500;
    p.update(stats);
    t = 3_000;
    p.update(stats);
    p.log('line 7: invalid: x');
    p.finish({ ...stats, done: 1000 });
    expect(written).toEqual([
      `${plainLine(stats, 2_500, 'onboard')}\n`,
      'line 7: invalid: x\n',
      'onboard: 1000/1000 lines (100%) created=240 invalid=10 333/s\n',
    ]);
    expect(written.join('')).not.toContain('\r');
  });

  it('on a terminal, clears the bar before a message and redraws it after', () => {
    const written: string[] = [];
    const p = createProgress({ stream: { write: (s: string) => written.push(s), isTTY: true, columns: 100 }, label: 'onboard', now: () => 1_000 });
    p.update(stats);
    p.log('line 7: invalid: x');
    expect(written[0]?.startsWith('\r\x1b[2Konboard [')).toBe(true);
    expect(written[1]).toBe('\r\x1b[2K');
    expect(written[2]).toBe('line 7: invalid: x\n');
    expect(written[3]?.startsWith('\r\x1b[2Konboard [')).toBe(true);
  });
});

describe('validateLine', () => {
  it('accepts a valid applicant', () => {
    expect(validateLine('{"externalId":"u-1","email":"a@example.com"}')).toEqual({ ok: true, applicant: { externalId: 'u-1', email: 'a@example.com' } });
  });
  it('reports bad JSON and every field error', () => {
    const bad = validateLine('{"externalId": ');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problems[0]).toMatch(/^not valid JSON \(/);
    const fields = validateLine('{"externalId":"u 1","email":"nope","extra":1}');
    expect(!fields.ok && fields.problems).toEqual([
      'externalId: letters, digits, _ . @ - only',
      'email: Invalid email address',
      '(body): Unrecognized key: "extra"',
    ]);
    expect(validateLine('[1,2]')).toEqual({ ok: false, problems: ['(body): Invalid input: expected object, received array'] });
    expect(validateLine(`{"externalId":"x","occupation":"${'a'.repeat(70_000)}"}`)).toEqual({ ok: false, problems: ['line is longer than 64 KiB'] });
  });
});

describe('doneThrough (checkpoint low-water mark)', () => {
  it('stops before the oldest line still in flight or failed', () => {
    expect(doneThrough({ lastRead: 10, inFlight: new Set() })).toBe(10);
    expect(doneThrough({ lastRead: 10, inFlight: new Set([8, 10]) })).toBe(7);
    expect(doneThrough({ lastRead: 10, inFlight: new Set([9]), firstFailed: 4 })).toBe(3);
    expect(doneThrough({ lastRead: 0, inFlight: new Set() })).toBe(0);
  });
});

describe('checkpoint file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kyc-cp-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resumes only for the same file, provider and target', async () => {
    const file = join(dir, 'a.jsonl');
    writeFileSync(file, '{"externalId":"a"}\n');
    const cp = join(dir, 'cp.json');
    const id = await identify(file, 'kira', 'redis://x {p}');
    expect(await loadCheckpoint(cp, id)).toEqual({ kind: 'none' });
    await saveCheckpoint(cp, id, 1, new Date('2025-01-01T00:00:00Z'));
    expect(await loadCheckpoint(cp, id)).toEqual({ kind: 'resume', doneThrough: 1 });
    expect(await loadCheckpoint(cp, { ...id, provider: 'kraken' })).toMatchObject({ kind: 'mismatch' });
    expect(await loadCheckpoint(cp, { ...id, target: 'redis://y {p}' })).toMatchObject({ kind: 'mismatch' });
    writeFileSync(file, '{"externalId":"a"}\n{"externalId":"b"}\n');
    expect(await loadCheckpoint(cp, await identify(file, 'kira', 'redis://x {p}'))).toEqual({ kind: 'mismatch', why: 'the input file changed since it was written' });
    writeFileSync(cp, 'garbage');
    expect(await loadCheckpoint(cp, id)).toEqual({ kind: 'mismatch', why: 'it is not a checkpoint file' });
  });
});

describe('parseCommandArgs', () => {
  const spec: CommandSpec = {
    path: ['things', 'do'], summary: 's', usage: '<id> [--flag]', details: '',
    options: { flag: { type: 'boolean' }, name: { type: 'string' } }, positionals: { min: 1, max: 1 },
    run: () => Promise.resolve(0),
  };
  it('parses options and positionals, and turns every problem into a UsageError', () => {
    expect(parseCommandArgs(spec, ['x', '--flag', '--name', 'n'])).toMatchObject({ positionals: ['x'], values: { flag: true, name: 'n' }, help: false });
    expect(parseCommandArgs(spec, ['--help']).help).toBe(true);
    expect(() => parseCommandArgs(spec, [])).toThrow(new UsageError('missing argument: expected <id> [--flag]', 'things do'));
    expect(() => parseCommandArgs(spec, ['a', 'b'])).toThrow('unexpected argument: b');
    expect(() => parseCommandArgs(spec, ['a', '--nope'])).toThrow("Unknown option '--nope'");
    expect(() => parseCommandArgs(spec, ['a', '--name'])).toThrow(UsageError);
  });
});
