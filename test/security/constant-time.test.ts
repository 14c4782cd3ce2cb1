/**
 * Tokens and signatures are compared in constant time. No timing measurement (too noisy to be
 * a test): the properties that make a comparison constant-time are checked instead.
 * - Every configured secret is used on every verification, also after one matched (no early
 *   return that would tell, by its speed, which one matched): counted by handing the verifiers
 *   secrets that count how often their value is read.
 * - The verdict for a near miss is the same whatever secret it nearly matches, and whatever
 *   position that secret has in the list.
 * - The code compares with crypto.timingSafeEqual, on digests of equal length, and nowhere with
 *   ===, Buffer.equals or Buffer.compare.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyKiraSignature } from '../../src/providers/kira/webhook.js';
import { signKrakenWebhook } from '../../src/providers/kraken/index.js';
import { verifyKrakenSignature } from '../../src/providers/kraken/webhook.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { signKira } from './tools.js';

const body = Buffer.from(JSON.stringify({ event: 'user.verification.accepted', data: { event_id: 'e1', user_id: 'u1' } }));
const flip = (hex: string, i: number) => hex.slice(0, i) + ((parseInt(hex[i]!, 16) + 1) % 16).toString(16) + hex.slice(i + 1);

/** A string-like secret that counts how often its value is read (Buffer.from reads valueOf). */
function counted(value: string): { secret: string; reads: () => number } {
  let n = 0;
  const s = { valueOf: () => { n += 1; return value; }, toString: () => value, length: value.length };
  return { secret: s as unknown as string, reads: () => n };
}

describe('Kira signatures (x-signature-sha256)', () => {
  const secrets = ['kira-secret-one', 'kira-secret-two-longer', 'k3-333', 'kira-secret-four'];

  it('uses every secret on every verification, also when the first one matches', () => {
    for (const matching of [0, 3, -1]) {
      const c = secrets.map(counted);
      const sig = matching >= 0 ? signKira(body, secrets[matching]!) : 'ab'.repeat(32);
      const verdict = verifyKiraSignature({ body, headers: { 'x-signature-sha256': sig } }, c.map((x) => x.secret));
      expect(verdict.ok).toBe(matching >= 0);
      expect(c.map((x) => x.reads())).toEqual([1, 1, 1, 1]);
    }
  });

  it('gives the same verdict to a near miss of any secret, in any position', () => {
    const verdicts = new Set<string>();
    for (const [i, s] of secrets.entries()) {
      for (const order of [secrets, [...secrets].reverse()]) {
        for (const sig of [flip(signKira(body, s), i), flip(signKira(body, s), 63), signKira(body, `${s}x`), signKira(body, s).toUpperCase().slice(0, 63)]) {
          verdicts.add(JSON.stringify(verifyKiraSignature({ body, headers: { 'x-signature-sha256': sig } }, order)));
        }
        expect(verifyKiraSignature({ body, headers: { 'x-signature-sha256': signKira(body, s) } }, order)).toEqual({ ok: true });
      }
    }
    expect([...verdicts]).toEqual([JSON.stringify({ ok: false, reason: 'bad_signature' })]);
  });
});

describe('Kraken signatures (X-Signature: t=,v1=)', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const secrets = [b64('kraken-one'), b64('kraken-two-longer-secret'), b64('kraken-3'), b64('kraken-four')];
  const now = new Date('2025-01-15T10:30:00Z');
  const t = Math.floor(now.getTime() / 1000);

  it('uses every secret against every v1 value, also after a match', () => {
    for (const matching of [0, 3, -1]) {
      const c = secrets.map(counted);
      const v1 = matching >= 0 ? signKrakenWebhook(secrets[matching]!, t, body) : 'cd'.repeat(32);
      const header = `t=${t},v1=${'ef'.repeat(32)},v1=${v1}`;
      const verdict = verifyKrakenSignature({ body, headers: { 'x-signature': header } }, c.map((x) => x.secret), now);
      expect(verdict.ok).toBe(matching >= 0);
      expect(c.map((x) => x.reads())).toEqual([1, 1, 1, 1]);
    }
  });

  it('gives the same verdict to a near miss of any secret, in any position, and checks the time only after the signature', () => {
    const verdicts = new Set<string>();
    for (const s of secrets) {
      for (const order of [secrets, [...secrets].reverse()]) {
        const good = signKrakenWebhook(s, t, body);
        for (const header of [`t=${t},v1=${flip(good, 5)}`, `t=${t + 1},v1=${good}`, `t=${t},v1=${good.slice(0, 63)}`, `t=${t},v1=${signKrakenWebhook(b64(`${s}x`), t, body)}`]) {
          verdicts.add(JSON.stringify(verifyKrakenSignature({ body, headers: { 'x-signature': header } }, order, now)));
        }
        expect(verifyKrakenSignature({ body, headers: { 'x-signature': `t=${t},v1=${good}` } }, order, now)).toEqual({ ok: true });
        // A forged signature with a stale t is "bad signature", not "stale": the age of a request
        // is only told to someone who signed it.
        expect(verifyKrakenSignature({ body, headers: { 'x-signature': `t=${t - 1000},v1=${flip(good, 0)}` } }, order, now)).toEqual({ ok: false, reason: 'bad_signature' });
      }
    }
    expect([...verdicts]).toEqual([JSON.stringify({ ok: false, reason: 'bad_signature' })]);
  });
});

describe('the comparisons in the code', () => {
  const files = ['src/http/bearer.ts', 'src/http/admin.ts', 'src/providers/kira/webhook.ts', 'src/providers/kraken/webhook.ts'];

  const SECRETISH = /sig|secret|token|digest|expected|given|password|allowed|hmac/i;
  /** `a === b` where both sides are secret material (not a length, not a null check). */
  function valueComparisons(src: string): string[] {
    const out: string[] = [];
    for (const m of src.matchAll(/([\w.[\]()!?]+)\s*([!=]==?)\s*([\w.[\]()'"]+)/g)) {
      const [all, a = '', , b = ''] = m;
      const benign = (x: string) => /^(undefined|null|\d+|'[^']*'|"[^"]*")$/.test(x) || /\.length$|\.ok$|\.reason$/.test(x);
      if (SECRETISH.test(a) && SECRETISH.test(b) && !benign(a) && !benign(b)) out.push(all);
    }
    return out;
  }

  it.each(files)('%s compares with timingSafeEqual only', (file) => {
    const src = readFileSync(file, 'utf8');
    expect(src).toMatch(/timingSafeEqual\(/);
    expect(src).not.toMatch(/\.equals\(|Buffer\.compare\(|\.startsWith\((?:expected|secret|token)/);
    expect(valueComparisons(src)).toEqual([]);
  });

  it('would notice a plain comparison of two secrets', () => {
    expect(valueComparisons('if (given === expected) ok = true;')).toHaveLength(1);
    expect(valueComparisons('return signature !== hmac.digest("hex");')).toHaveLength(1);
  });
});

describe('bearer tokens (/v1)', () => {
  const tokens = ['tok-short', 'a-much-longer-second-token-000000000000', 'third-token-3'];
  let stack: Stack;
  beforeAll(async () => { stack = await startStack({ role: 'api', env: { API_TOKENS: tokens.join(',') } }); });
  afterAll(async () => stack?.close());

  it('accepts each configured token and answers every near miss of any of them identically', async () => {
    for (const token of tokens) expect((await stack.api('/v1/cases', { token })).status).toBe(200);
    const answers = new Set<string>();
    for (const token of tokens) {
      for (const miss of [token.slice(0, -1), `${token}x`, flip(Buffer.from(token).toString('hex'), 0), token.toUpperCase(), `x${token}`, '']) {
        const res = await fetch(`${stack.url}/v1/cases`, { headers: { authorization: `Bearer ${miss}` } });
        answers.add(JSON.stringify({ status: res.status, body: await res.text(), auth: res.headers.get('www-authenticate'), type: res.headers.get('content-type'), length: res.headers.get('content-length') }));
      }
    }
    expect(answers.size).toBe(1);
    expect(JSON.parse([...answers][0]!)).toMatchObject({ status: 401, auth: 'Bearer' });
  });
});
