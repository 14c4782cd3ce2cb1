import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createReasonMapper } from '../../src/kyc/reasons.js';
import { fixedClock } from '../../src/lib/clock.js';
import {
  createKrakenAdapter,
  createLocalNonceSource,
  normaliseTimestamp,
  signKrakenRequest,
  signKrakenWebhook,
} from '../../src/providers/kraken/index.js';
import type { RawWebhook } from '../../src/providers/provider-adapter.js';
import { signKrakenWebhookBody } from '../../src/simulators/kraken/index.js';
import { expectedSign } from '../../src/simulators/kraken/gateway.js';

// PROVIDERS.md §1.3: Kraken's published vector and the two Embed vectors derived from it.
const SECRET =
  'kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==';
const VECTORS = [
  {
    name: 'the published spot vector (POST /0/private/AddOrder)',
    pathWithQuery: '/0/private/AddOrder',
    nonce: '1616492376594',
    body: 'nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25',
    sign: '4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ==',
  },
  {
    name: 'the Embed create vector (POST /b2b/users, JSON body)',
    pathWithQuery: '/b2b/users',
    nonce: '1734567890000000000',
    body: '{"email":"jsmith@example.com","external_id":"partner-user-1"}',
    sign: 'ugTLj6G44iyK2lijHrHf7tn/1TnunXwfDaZt9vV/c60MKLTLaaH1jEdX6sfW5aQVrkoWwzUIM2Jyw5m+If+qHA==',
  },
  {
    name: 'the Embed GET vector (no body: the nonce alone is hashed)',
    pathWithQuery: '/b2b/users/AA00TESTEXAMPLE1',
    nonce: '1734567890000000001',
    body: undefined,
    sign: 'sC470pJ/aK8BnUEAsVu4HydDZ+8RqUiaekMM1H6Go3SMClIINXwSd6xRwgeJM3sFJlZm35NYS503WzYvp929sg==',
  },
];

// PROVIDERS.md §1.8 worked webhook vector.
const HOOK_SECRET = 'dGVzdC1zZWNyZXQtcGxlYXNlLWlnbm9yZQ==';
const HOOK_T = 1734567890;
const HOOK_BODY =
  '{"event_type":"webhook.test","message":"This is a test webhook event to verify your endpoint configuration."}';
const HOOK_V1 = '1ef668d4f2ef42f82d076fcdd4b6320d5d956df364588a36a00d1e3027744654';

describe('Kraken API-Sign', () => {
  for (const v of VECTORS) {
    it(`reproduces ${v.name}`, () => {
      expect(
        signKrakenRequest({
          secret: SECRET,
          pathWithQuery: v.pathWithQuery,
          nonce: v.nonce,
          body: v.body,
        }),
      ).toBe(v.sign);
      // The simulator's independent verifier computes the same bytes.
      const sim = expectedSign(
        SECRET,
        v.pathWithQuery,
        v.nonce,
        Buffer.from(v.body ?? ''),
      ).toString('base64');
      expect(sim).toBe(v.sign);
    });
  }

  it('treats an empty body and no body alike, and signs the encoded path exactly', () => {
    const v = VECTORS[2]!;
    expect(
      signKrakenRequest({
        secret: SECRET,
        pathWithQuery: v.pathWithQuery,
        nonce: v.nonce,
        body: '',
      }),
    ).toBe(v.sign);
    const encoded = signKrakenRequest({
      secret: SECRET,
      pathWithQuery: '/b2b/users/AA00%20TEST%20EXAM%20PLE1',
      nonce: v.nonce,
    });
    const raw = signKrakenRequest({
      secret: SECRET,
      pathWithQuery: '/b2b/users/AA00 TEST EXAM PLE1',
      nonce: v.nonce,
    });
    expect(encoded).not.toBe(raw);
  });
});

describe('Kraken webhook signature', () => {
  it('reproduces the worked vector with the base64-decoded secret', () => {
    expect(signKrakenWebhook(HOOK_SECRET, HOOK_T, HOOK_BODY)).toBe(HOOK_V1);
    expect(signKrakenWebhookBody(HOOK_SECRET, HOOK_T, HOOK_BODY)).toBe(HOOK_V1);
    // Keyed with the secret string as-is (the Kira way), the signature differs.
    expect(
      createHmac('sha256', HOOK_SECRET).update(`${HOOK_T}.${HOOK_BODY}`).digest('hex'),
    ).not.toBe(HOOK_V1);
  });
});

function adapter(secrets: string[], iso: string) {
  const clock = fixedClock(iso);
  return {
    clock,
    a: createKrakenAdapter({
      baseUrl: 'http://127.0.0.1:9',
      apiKey: 'k',
      apiSecret: SECRET,
      webhookSecrets: secrets,
      nonces: createLocalNonceSource(clock),
      clock,
      reasons: createReasonMapper(),
    }),
  };
}

const raw = (body: string, header?: string): RawWebhook => ({
  body: Buffer.from(body, 'utf8'),
  headers:
    header === undefined ? { 'content-type': 'application/json' } : { 'X-Signature': header },
});
const at = (t: number): Date => new Date(t * 1000);

describe('kraken verifyWebhook', () => {
  const { a } = adapter([HOOK_SECRET], '2024-12-19T00:24:50Z');

  it('accepts the worked vector at its own time', () => {
    expect(a.verifyWebhook(raw(HOOK_BODY, `t=${HOOK_T},v1=${HOOK_V1}`), at(HOOK_T))).toEqual({
      ok: true,
    });
  });

  it('accepts up to 300 s either way and refuses 301 s as stale', () => {
    const header = `t=${HOOK_T},v1=${HOOK_V1}`;
    expect(a.verifyWebhook(raw(HOOK_BODY, header), at(HOOK_T + 300)).ok).toBe(true);
    expect(a.verifyWebhook(raw(HOOK_BODY, header), at(HOOK_T - 300)).ok).toBe(true);
    expect(a.verifyWebhook(raw(HOOK_BODY, header), at(HOOK_T + 301))).toEqual({
      ok: false,
      reason: 'stale',
    });
    expect(a.verifyWebhook(raw(HOOK_BODY, header), at(HOOK_T - 301))).toEqual({
      ok: false,
      reason: 'stale',
    });
  });

  it('accepts any of several v1 values and spaces after commas', () => {
    const other = 'ab'.repeat(32);
    expect(
      a.verifyWebhook(raw(HOOK_BODY, `t=${HOOK_T}, v1=${other}, v1=${HOOK_V1}`), at(HOOK_T)).ok,
    ).toBe(true);
    expect(a.verifyWebhook(raw(HOOK_BODY, `v1=${HOOK_V1},t=${HOOK_T}`), at(HOOK_T)).ok).toBe(true);
  });

  it('accepts every configured secret (rotation) and refuses an unknown one', () => {
    const rotated = adapter(
      [Buffer.from('the-new-secret').toString('base64'), HOOK_SECRET],
      '2024-12-19T00:24:50Z',
    ).a;
    expect(rotated.verifyWebhook(raw(HOOK_BODY, `t=${HOOK_T},v1=${HOOK_V1}`), at(HOOK_T)).ok).toBe(
      true,
    );
    const stranger = adapter(
      [Buffer.from('somebody-else').toString('base64')],
      '2024-12-19T00:24:50Z',
    ).a;
    expect(stranger.verifyWebhook(raw(HOOK_BODY, `t=${HOOK_T},v1=${HOOK_V1}`), at(HOOK_T))).toEqual(
      { ok: false, reason: 'bad_signature' },
    );
  });

  it('refuses a signature made with the undecoded secret string', () => {
    const wrong = createHmac('sha256', HOOK_SECRET).update(`${HOOK_T}.${HOOK_BODY}`).digest('hex');
    expect(a.verifyWebhook(raw(HOOK_BODY, `t=${HOOK_T},v1=${wrong}`), at(HOOK_T))).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('refuses a changed body, a missing header, and malformed headers', () => {
    expect(a.verifyWebhook(raw(`${HOOK_BODY} `, `t=${HOOK_T},v1=${HOOK_V1}`), at(HOOK_T))).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(a.verifyWebhook(raw(HOOK_BODY), at(HOOK_T))).toEqual({
      ok: false,
      reason: 'missing_signature',
    });
    for (const h of [
      `v1=${HOOK_V1}`,
      `t=${HOOK_T}`,
      `t=abc,v1=${HOOK_V1}`,
      `t=${HOOK_T},v1=xyz`,
      'garbage',
    ]) {
      expect(a.verifyWebhook(raw(HOOK_BODY, h), at(HOOK_T))).toEqual({
        ok: false,
        reason: 'bad_signature',
      });
    }
  });

  it('does not call a bad signature stale even when t is old', () => {
    expect(
      a.verifyWebhook(raw(HOOK_BODY, `t=${HOOK_T},v1=${'00'.repeat(32)}`), at(HOOK_T + 10_000)),
    ).toEqual({ ok: false, reason: 'bad_signature' });
  });
});

describe('kraken timestamps', () => {
  it('normalises RFC3339 with nanoseconds or offsets to ISO milliseconds that sort as strings', () => {
    expect(normaliseTimestamp('2025-01-15T10:30:00.000000000Z')).toBe('2025-01-15T10:30:00.000Z');
    expect(normaliseTimestamp('2025-01-15T10:30:00.123456789Z')).toBe('2025-01-15T10:30:00.123Z');
    expect(normaliseTimestamp('2025-01-15T12:30:00+02:00')).toBe('2025-01-15T10:30:00.000Z');
    expect(
      normaliseTimestamp('2025-01-15T10:30:01Z')! >
        normaliseTimestamp('2025-01-15T10:30:00.999999999Z')!,
    ).toBe(true);
    expect(normaliseTimestamp('yesterday')).toBeUndefined();
    expect(normaliseTimestamp(undefined)).toBeUndefined();
  });
});
