import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { CaseStatus, KycCase } from '../../src/kyc/types.js';
import { notificationFor, notificationType } from '../../src/notifications/notification.js';
import { secretKey, signature, signedHeaders } from '../../src/notifications/signing.js';
import { BACKOFF_CAP_MS } from '../../src/queue/backoff.js';
import { notifyAttempts } from '../../src/queue/catalog.js';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;

describe('Standard Webhooks signing', () => {
  it('produces the signature the standardwebhooks package produces', () => {
    const at = new Date('2026-03-01T10:00:00.000Z');
    const body = JSON.stringify({ type: 'case.verified', id: 'ntf_1_4' });
    expect(signature(secretKey(SECRET), { id: 'ntf_1_4', timestamp: Math.floor(at.getTime() / 1000), body }))
      .toBe(new Webhook(SECRET).sign('ntf_1_4', at, body));
  });

  it('signs headers that Webhook.verify accepts, and rejects a changed body', () => {
    const body = '{"type":"case.rejected","id":"ntf_x_3"}';
    const headers = signedHeaders(secretKey(SECRET), 'ntf_x_3', body, new Date());
    expect(headers['webhook-timestamp']).toMatch(/^\d{10}$/);
    expect(new Webhook(SECRET).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(SECRET).verify(body.replace('rejected', 'verified'), headers)).toThrow();
    expect(() => new Webhook(`whsec_${randomBytes(24).toString('base64')}`).verify(body, headers)).toThrow();
  });

  it('decodes the key after the whsec_ prefix', () => {
    expect(secretKey('whsec_AAEC')).toEqual(Buffer.from([0, 1, 2]));
    expect(() => secretKey('whsec_')).toThrow(RangeError);
  });
});

describe('notificationType', () => {
  const cases: [CaseStatus, CaseStatus, string, string | null][] = [
    ['awaiting_verification', 'verified', 'webhook:user.verification.accepted', 'case.verified'],
    ['awaiting_verification', 'rejected', 'webhook:user.verification.failed', 'case.rejected'],
    ['awaiting_verification', 'escalated', 'webhook:user.verification.failed', 'case.escalated'],
    ['remediating', 'escalated', 'remediation_failed', 'case.escalated'],
    ['creating', 'escalated', 'preflight_failed', 'case.escalated'],
    ['escalated', 'rejected', 'resolved_reject', 'case.escalation_resolved'],
    ['escalated', 'remediating', 'resolved_retry', 'case.escalation_resolved'],
    ['escalated', 'queued', 'resolved_retry', 'case.escalation_resolved'],
    ['escalated', 'remediating', 'applicant_updated', null],
    ['escalated', 'escalated', 'webhook:user.verification.failed', null],
    ['verified', 'verified', 'webhook:user.verification.failed', null],
    ['awaiting_verification', 'remediating', 'webhook:user.verification.failed', null],
    ['queued', 'creating', 'create_started', null],
  ];
  it.each(cases)('%s → %s (%s) is %s', (from, to, event, type) => {
    expect(notificationType({ from, to, event })).toBe(type);
  });
});

describe('notificationFor', () => {
  const c = {
    id: 'c-1', provider: 'kira', externalId: 'partner-42',
    reasons: [{ code: 'sanctions_or_pep', providerText: 'Sanctions screening match' }],
    applicant: { externalId: 'partner-42', email: 'erika@example.com', firstName: 'Erika', lastName: 'Mustermann' },
  } as unknown as KycCase;

  it('has a deterministic id per timeline entry and carries no applicant data', () => {
    const n = notificationFor(c, { from: 'awaiting_verification', to: 'escalated', event: 'webhook:x', reasons: c.reasons }, { seq: 4, at: '2026-03-01T10:00:00.000Z' });
    expect(n).toEqual({
      type: 'case.escalated', id: 'ntf_c-1_4', createdAt: '2026-03-01T10:00:00.000Z',
      data: { caseId: 'c-1', provider: 'kira', externalId: 'partner-42', status: 'escalated', reasons: [{ code: 'sanctions_or_pep', providerText: 'Sanctions screening match' }] },
    });
    expect(JSON.stringify(n)).not.toMatch(/erika|Mustermann/i);
  });

  it('reports a resolution with its outcome and the escalation reasons, and a verification without stale reasons', () => {
    const resolved = notificationFor(c, { from: 'escalated', to: 'rejected', event: 'resolved_reject' }, { seq: 5, at: 'x' });
    expect(resolved?.data).toMatchObject({ status: 'rejected', resolution: 'reject', reasons: [{ code: 'sanctions_or_pep' }] });
    expect(notificationFor(c, { from: 'awaiting_verification', to: 'verified', event: 'poll:x' }, { seq: 6, at: 'x' })?.data.reasons).toEqual([]);
    expect(notificationFor(c, { from: 'queued', to: 'creating', event: 'create_started' }, { seq: 1, at: 'x' })).toBeNull();
  });
});

describe('notifyAttempts', () => {
  const minTotal = (attempts: number, base: number) => {
    let t = 0;
    for (let k = 1; k < attempts; k += 1) t += Math.min(BACKOFF_CAP_MS, base * 2 ** (k - 1)) / 2;
    return t;
  };
  it.each([[24 * 3_600_000, 5_000], [3_600_000, 1_000], [500, 20]])('covers a %d ms window with base %d ms even at the shortest jitter', (window, base) => {
    const n = notifyAttempts(window, base);
    expect(minTotal(n, base)).toBeGreaterThanOrEqual(window);
    expect(minTotal(n - 1, base)).toBeLessThan(window);
  });
});
