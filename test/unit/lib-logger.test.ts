import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, scrubPii } from '../../src/lib/logger.js';

function capture(): { log: ReturnType<typeof createLogger>; text: () => string } {
  const lines: string[] = [];
  const destination = new Writable({ write(c: Buffer, _e, cb) { lines.push(c.toString()); cb(); } });
  return { log: createLogger({ level: 'debug', destination }), text: () => lines.join('') };
}

describe('logger redaction', () => {
  it('censors applicant fields at any depth in a line, two levels deep in child bindings, and keeps the rest', () => {
    const { log, text } = capture();
    log.info({ job: { data: { applicant: { lastName: 'Mustermann' } }, meta: { deeper: { email: 'erika@example.com', phone: '+4915112345678' } } }, caseId: 'c-1' }, 'job');
    log.child({ ctx: { dateOfBirth: '1988-02-03' } }).warn({ list: [{ identityDocument: { number: 'C01X00T47' } }] }, 'child');
    const out = text();
    for (const pii of ['Mustermann', 'erika@example.com', '+4915112345678', '1988-02-03', 'C01X00T47']) expect(out).not.toContain(pii);
    expect(out).toContain('"caseId":"c-1"');
    expect(out.match(/\[redacted\]/g)?.length).toBe(5);
  });

  it('censors auth and signature headers by path', () => {
    const { log, text } = capture();
    log.info({ req: { headers: { authorization: 'Bearer s3cret', 'x-signature-sha256': 'abc123', accept: 'json' } } }, 'req');
    expect(text()).not.toMatch(/s3cret|abc123/);
    expect(text()).toContain('"accept":"json"');
  });

  it('returns the same object when there is nothing to censor', () => {
    const o = { a: { b: [1, { c: 'd' }] }, buf: Buffer.from('x') };
    expect(scrubPii(o)).toBe(o);
  });
});
