import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createReasonMapper } from '../../src/kyc/reasons.js';
import { fixedClock } from '../../src/lib/clock.js';
import { createKiraAdapter } from '../../src/providers/kira/index.js';
import type { ParsedWebhook, RawWebhook } from '../../src/providers/provider-adapter.js';

// The worked vector of PROVIDERS.md §2.7.
const VECTOR_SECRET = 'your_webhook_secret';
const VECTOR_BODY =
  '{"event":"user.verification.failed","data":{"event_id":"evt-1","user_id":"u-1","verification_status":"rejected","reasons":["Verification session expired"]}}';
const VECTOR_SIGNATURE = '2b5f142bd948826b09ee9d4bfad417d4eca93cbfd7f9445de4a59ab116019714';

const clock = fixedClock('2026-05-01T12:00:00Z');
const NOW = clock.now();

function adapter(webhookSecrets: string[] = [VECTOR_SECRET]) {
  return createKiraAdapter({
    baseUrl: 'http://127.0.0.1:9',
    apiKey: 'k',
    clientId: 'c',
    password: 'p',
    webhookSecrets,
    clock,
    reasons: createReasonMapper(),
  });
}

function raw(body: string, headers: RawWebhook['headers']): RawWebhook {
  return { body: Buffer.from(body, 'utf8'), headers };
}

const sign = (secret: string, body: string): string =>
  createHmac('sha256', secret).update(body).digest('hex');

describe('kira verifyWebhook', () => {
  it('accepts the documented worked vector', () => {
    expect(sign(VECTOR_SECRET, VECTOR_BODY)).toBe(VECTOR_SIGNATURE);
    expect(
      adapter().verifyWebhook(raw(VECTOR_BODY, { 'x-signature-sha256': VECTOR_SIGNATURE }), NOW),
    ).toEqual({ ok: true });
  });

  it('accepts the x-kira-signature alias and mixed-case header names', () => {
    expect(
      adapter().verifyWebhook(raw(VECTOR_BODY, { 'x-kira-signature': VECTOR_SIGNATURE }), NOW),
    ).toEqual({ ok: true });
    expect(
      adapter().verifyWebhook(raw(VECTOR_BODY, { 'X-Signature-SHA256': VECTOR_SIGNATURE }), NOW),
    ).toEqual({ ok: true });
  });

  it('accepts a signature made with the second (older) secret', () => {
    const a = adapter(['new_secret_value', VECTOR_SECRET]);
    expect(
      a.verifyWebhook(raw(VECTOR_BODY, { 'x-signature-sha256': VECTOR_SIGNATURE }), NOW),
    ).toEqual({ ok: true });
    const byNew = sign('new_secret_value', VECTOR_BODY);
    expect(a.verifyWebhook(raw(VECTOR_BODY, { 'x-signature-sha256': byNew }), NOW)).toEqual({
      ok: true,
    });
  });

  it('rejects a signature made with a secret that is not configured', () => {
    const a = adapter(['new_secret_value']);
    expect(
      a.verifyWebhook(raw(VECTOR_BODY, { 'x-signature-sha256': VECTOR_SIGNATURE }), NOW),
    ).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('never accepts a signature made with an empty configured secret', () => {
    const body = '{"event":"user.created","data":{"event_id":"e"}}';
    const a = adapter(['']);
    expect(a.verifyWebhook(raw(body, { 'x-signature-sha256': sign('', body) }), NOW)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('rejects a body changed by one byte (re-serialised JSON is not the raw body)', () => {
    const reserialised = JSON.stringify(JSON.parse(VECTOR_BODY), null, 1);
    expect(
      adapter().verifyWebhook(raw(reserialised, { 'x-signature-sha256': VECTOR_SIGNATURE }), NOW),
    ).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it.each([
    ['non-hex', 'zz'.repeat(32)],
    ['too short', VECTOR_SIGNATURE.slice(0, 62)],
    ['too long', `${VECTOR_SIGNATURE}00`],
    ['prefixed', `sha256=${VECTOR_SIGNATURE}`],
  ])('rejects a %s signature without throwing', (_label, signature) => {
    expect(
      adapter().verifyWebhook(raw(VECTOR_BODY, { 'x-signature-sha256': signature }), NOW),
    ).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('reports a missing or empty signature header as missing_signature', () => {
    expect(adapter().verifyWebhook(raw(VECTOR_BODY, {}), NOW)).toEqual({
      ok: false,
      reason: 'missing_signature',
    });
    expect(adapter().verifyWebhook(raw(VECTOR_BODY, { 'x-signature-sha256': '' }), NOW)).toEqual({
      ok: false,
      reason: 'missing_signature',
    });
  });
});

describe('kira parseWebhook', () => {
  const parse = (body: unknown): ParsedWebhook => adapter().parseWebhook(body, raw('', {}), NOW);
  const event = (p: ParsedWebhook) => {
    if (p.kind !== 'event') throw new Error(`expected an event, got ${JSON.stringify(p)}`);
    return p.event;
  };

  it('maps user.verification.failed to a terminal rejection with mapped reasons', () => {
    const e = event(
      parse({
        event: 'user.verification.failed',
        data: {
          event_id: 'evt-1',
          user_id: 'u-1',
          verification_status: 'rejected',
          reasons: ['Verification session expired', 'Missing required field: source_of_funds'],
        },
      }),
    );
    expect(e).toEqual({
      provider: 'kira',
      providerEventId: 'evt-1',
      type: 'user.verification.failed',
      userRef: 'u-1',
      source: 'webhook',
      providerStatus: 'REJECTED',
      outcome: 'rejected',
      terminal: true,
      reasons: [
        { code: 'session_expired', providerText: 'Verification session expired' },
        {
          code: 'missing_data',
          field: 'sourceOfFunds',
          providerText: 'Missing required field: source_of_funds',
        },
      ],
    });
    expect(e.occurredAt).toBeUndefined();
  });

  it('aliases Kira field names in reasons to canonical applicant paths', () => {
    const reasons = (texts: string[]) =>
      event(
        parse({
          event: 'user.verification.failed',
          data: { event_id: 'e', user_id: 'u', reasons: texts },
        }),
      ).reasons;
    expect(
      reasons(['Missing required field: address_city', 'Missing field: account_purpose']),
    ).toEqual([
      {
        code: 'missing_data',
        field: 'address.city',
        providerText: 'Missing required field: address_city',
      },
      {
        code: 'missing_data',
        field: 'accountPurpose',
        providerText: 'Missing field: account_purpose',
      },
    ]);
  });

  it('still rejects when reasons are absent (the state machine records "no reasons")', () => {
    const e = event(
      parse({ event: 'user.verification.failed', data: { event_id: 'e', user_id: 'u' } }),
    );
    expect(e).toMatchObject({ outcome: 'rejected', terminal: true, reasons: [] });
  });

  it('maps user.verification.accepted to a terminal verification', () => {
    expect(
      event(
        parse({ event: 'user.verification.accepted', data: { event_id: 'e2', user_id: 'u-2' } }),
      ),
    ).toEqual({
      provider: 'kira',
      providerEventId: 'e2',
      type: 'user.verification.accepted',
      userRef: 'u-2',
      source: 'webhook',
      providerStatus: 'VERIFIED',
      outcome: 'verified',
      terminal: true,
      reasons: [],
    });
  });

  it('marks user.status_changed to REJECTED as informational (reasons come with verification.failed)', () => {
    const e = event(
      parse({
        event: 'user.status_changed',
        data: {
          event_id: 'e3',
          user_id: 'u',
          previous_status: 'VERIFYING',
          new_status: 'rejected',
        },
      }),
    );
    expect(e).toMatchObject({
      providerStatus: 'REJECTED',
      outcome: 'rejected',
      terminal: true,
      informational: true,
      reasons: [],
    });
  });

  it('treats user.status_changed to VERIFIED as terminal verified and pending statuses as non-terminal', () => {
    const changed = (s: string) =>
      event(
        parse({
          event: 'user.status_changed',
          data: { event_id: 'e', user_id: 'u', new_status: s },
        }),
      );
    const verified = changed('VERIFIED');
    expect(verified).toMatchObject({ outcome: 'verified', terminal: true });
    expect(verified.informational).toBeUndefined();
    expect(changed('review')).toMatchObject({
      providerStatus: 'REVIEW',
      outcome: 'pending',
      terminal: false,
    });
    expect(changed('ACTIVE')).toMatchObject({
      providerStatus: 'ACTIVE',
      outcome: 'pending',
      terminal: false,
    });
  });

  it('ignores other event types, keeping their event id', () => {
    for (const type of [
      'user.created',
      'virtual_account.deposit_funds_received',
      'payout.status_changed',
      'user.liveness_completed',
    ]) {
      expect(parse({ event: type, data: { event_id: `id-${type}` } })).toEqual({
        kind: 'ignored',
        eventId: `id-${type}`,
        type,
      });
    }
  });

  it('reports unusable payloads, with the event id when it is readable', () => {
    expect(parse({ event: 'user.verification.accepted', data: { event_id: 'e4' } })).toMatchObject({
      kind: 'unusable',
      eventId: 'e4',
    });
    expect(
      parse({ event: 'user.status_changed', data: { event_id: 'e5', user_id: 'u' } }),
    ).toMatchObject({ kind: 'unusable', eventId: 'e5' });
    expect(parse({ type: 'user.verification.accepted', data: { event_id: 'e6' } })).toMatchObject({
      kind: 'unusable',
      eventId: 'e6',
    });
    const noId = parse({ event: 'user.verification.accepted', data: { user_id: 'u' } });
    expect(noId.kind).toBe('unusable');
    expect(noId).not.toHaveProperty('eventId');
    expect(parse('not json').kind).toBe('unusable');
    expect(parse(null).kind).toBe('unusable');
  });
});
