import { describe, expect, it } from 'vitest';
import type { Applicant } from '../../src/kyc/applicant.js';
import { CaseConflictError, decide, type CaseInput, type Policy, type Transition } from '../../src/kyc/state-machine.js';
import type { CaseStatus, KycCase, ProviderEvent, Reason } from '../../src/kyc/types.js';
import { CASE_STATUSES } from '../../src/kyc/types.js';
import { fixedClock } from '../../src/lib/clock.js';

const clock = fixedClock('2026-05-01T12:00:00.000Z');
const NOW = clock.now();
const AT = NOW.toISOString();
const EARLIER = '2026-04-30T08:00:00.000Z';
const policy: Policy = { maxAttempts: 3 };

const NON_TERMINAL: CaseStatus[] = ['queued', 'creating', 'awaiting_verification', 'remediating', 'escalated'];
const TERMINAL: CaseStatus[] = ['verified', 'rejected'];

function applicant(over: Partial<Applicant> = {}): Applicant {
  return {
    externalId: 'partner-user-1',
    email: 'ana@example.com',
    firstName: 'Ana',
    lastName: 'Lopez',
    dateOfBirth: '1990-04-02',
    nationalities: ['MX'],
    ...over,
  };
}

function kase(over: Partial<KycCase> = {}): KycCase {
  return {
    id: 'case-1',
    provider: 'kira',
    externalId: 'partner-user-1',
    status: 'awaiting_verification',
    applicant: applicant(),
    providerUserId: 'kira-user-1',
    providerStatus: 'PENDING',
    reasons: [],
    attempts: 0,
    createRound: 0,
    version: 5,
    createdAt: EARLIER,
    updatedAt: EARLIER,
    ...over,
  };
}

function event(over: Partial<ProviderEvent> = {}): ProviderEvent {
  return {
    provider: 'kira',
    providerEventId: 'evt-1',
    type: 'user.verification.failed',
    userRef: 'kira-user-1',
    source: 'webhook',
    providerStatus: 'REJECTED',
    outcome: 'rejected',
    terminal: true,
    reasons: [],
    ...over,
  };
}

const verifiedEvent = (over: Partial<ProviderEvent> = {}): ProviderEvent =>
  event({ type: 'user.verification.accepted', providerStatus: 'VERIFIED', outcome: 'verified', ...over });

const reason = {
  missingSourceOfFunds: { code: 'missing_data', field: 'sourceOfFunds', providerText: 'Missing required field: source_of_funds' },
  sessionExpired: { code: 'session_expired', providerText: 'Verification session expired' },
  unreadable: { code: 'document_unreadable', providerText: 'Document image unreadable' },
  docExpired: { code: 'document_expired', providerText: 'Identity document expired' },
  mismatch: { code: 'identity_mismatch', providerText: 'Name does not match document' },
  sanctions: { code: 'sanctions_or_pep', providerText: 'Sanctions screening match' },
  fraud: { code: 'fraud_suspected', providerText: 'Suspected document fraud' },
  underage: { code: 'underage', providerText: 'Applicant under 18' },
  unsupportedCountry: { code: 'unsupported_country', providerText: 'Country not supported' },
  unknown: { code: 'unknown', providerText: 'Something else entirely' },
} satisfies Record<string, Reason>;

const rejection = (...reasons: Reason[]): CaseInput => ({ kind: 'provider_event', event: event({ reasons }) });

/** The store merges `{...case, ...patch}`: clearing a field needs the key present and undefined. */
function expectCleared(patch: Transition['patch'], key: keyof Transition['patch']) {
  expect(Object.keys(patch)).toContain(key);
  expect(patch[key]).toBeUndefined();
}

function mustDecide(c: KycCase, input: CaseInput, p: Policy = policy) {
  const t = decide(c, input, p, NOW);
  expect(t).not.toBeNull();
  return t!;
}

describe('decide: create_started', () => {
  it('moves a queued case to creating', () => {
    const t = mustDecide(kase({ status: 'queued', providerUserId: undefined }), { kind: 'create_started' });
    expect(t).toMatchObject({ to: 'creating', event: 'create_started', source: 'system', patch: {} });
  });

  it.each(CASE_STATUSES.filter((s) => s !== 'queued'))('returns null when the case is %s', (status) => {
    expect(decide(kase({ status }), { kind: 'create_started' }, policy, NOW)).toBeNull();
  });
});

describe('decide: user_created', () => {
  const created: CaseInput = { kind: 'user_created', providerUserId: 'kira-new', providerStatus: 'PENDING', adopted: false };

  it.each(['queued', 'creating'] as const)('links the provider user and awaits verification when the case is %s', (status) => {
    const c = kase({ status, providerUserId: undefined, providerStatus: undefined, reasons: [reason.unknown] });
    const t = mustDecide(c, created);
    expect(t.to).toBe('awaiting_verification');
    expect(t.event).toBe('provider_user_created');
    expect(t.detail).toBeUndefined();
    expect(t.patch).toMatchObject({ providerUserId: 'kira-new', providerStatus: 'PENDING', reasons: [] });
    expectCleared(t.patch, 'escalation');
  });

  it('records an adopted user with its own event and a detail when the create was retried', () => {
    const t = mustDecide(kase({ status: 'creating', providerUserId: undefined }), { ...created, adopted: true });
    expect(t.event).toBe('provider_user_adopted');
    expect(t.detail).toMatch(/adopted/);
    expect(t.patch.providerUserId).toBe('kira-new');
  });

  it('returns null the second time, once the provider user is linked', () => {
    const first = mustDecide(kase({ status: 'creating', providerUserId: undefined }), created);
    const after = kase({ status: first.to, ...first.patch });
    expect(decide(after, created, policy, NOW)).toBeNull();
  });

  it('returns null when the case already has a provider user even while creating', () => {
    expect(decide(kase({ status: 'creating', providerUserId: 'kira-old' }), created, policy, NOW)).toBeNull();
  });

  it.each(['awaiting_verification', 'remediating', 'escalated', 'verified', 'rejected'] as const)(
    'returns null when the case is %s without a provider user',
    (status) => {
      expect(decide(kase({ status, providerUserId: undefined }), created, policy, NOW)).toBeNull();
    },
  );
});

describe('decide: preflight_failed', () => {
  const reasons: Reason[] = [
    { code: 'missing_data', field: 'sourceOfFunds', providerText: 'sourceOfFunds is required by kira' },
    { code: 'missing_data', field: 'address.city', providerText: 'address.city is required by kira' },
  ];

  it.each(['queued', 'creating'] as const)('escalates with needsFields when the case is %s', (status) => {
    const t = mustDecide(kase({ status, providerUserId: undefined }), { kind: 'preflight_failed', reasons });
    expect(t.to).toBe('escalated');
    expect(t.event).toBe('preflight_failed');
    expect(t.source).toBe('system');
    expect(t.reasons).toEqual(reasons);
    expect(t.patch.reasons).toEqual(reasons);
    expect(t.patch.escalation).toMatchObject({ since: AT, needsFields: ['sourceOfFunds', 'address.city'] });
    expect(t.patch.escalation?.proposedAction).toContain('sourceOfFunds, address.city');
    expect(t.detail).toBe(t.patch.escalation?.proposedAction);
  });

  it('leaves needsFields unset when no reason names a field', () => {
    const t = mustDecide(kase({ status: 'queued' }), {
      kind: 'preflight_failed',
      reasons: [{ code: 'unsupported_country', providerText: 'country not served' }],
    });
    expect(t.patch.escalation?.needsFields).toBeUndefined();
  });

  it.each(['awaiting_verification', 'remediating', 'escalated', 'verified', 'rejected'] as const)(
    'returns null when the case is %s',
    (status) => {
      expect(decide(kase({ status }), { kind: 'preflight_failed', reasons }, policy, NOW)).toBeNull();
    },
  );
});

describe('decide: create_failed', () => {
  const input: CaseInput = {
    kind: 'create_failed',
    reason: { code: 'provider_error', providerText: 'email is invalid' },
    errors: [{ field: 'email', message: 'is invalid' }],
  };

  it.each(['queued', 'creating'] as const)('escalates with the provider field errors when the case is %s', (status) => {
    const t = mustDecide(kase({ status, providerUserId: undefined }), input);
    expect(t.to).toBe('escalated');
    expect(t.patch.providerErrors).toEqual([{ field: 'email', message: 'is invalid' }]);
    expect(t.patch.reasons).toEqual([{ code: 'provider_error', providerText: 'email is invalid' }]);
    expect(t.patch.escalation?.since).toBe(AT);
    expect(t.patch.escalation?.proposedAction).toMatch(/providerErrors/);
  });

  it.each(['awaiting_verification', 'remediating', 'escalated', 'verified', 'rejected'] as const)(
    'returns null when the case is %s',
    (status) => {
      expect(decide(kase({ status }), input, policy, NOW)).toBeNull();
    },
  );
});

describe('decide: provider_event on a terminal case', () => {
  it.each(TERMINAL)('records a late rejection on a %s case without changing anything', (status) => {
    const c = kase({ status, decidedAt: EARLIER });
    const t = mustDecide(c, rejection(reason.fraud));
    expect(t.to).toBe(status);
    expect(t.event).toBe('webhook:user.verification.failed');
    expect(t.detail).toBe(`late event recorded; case already ${status}`);
    expect(t.reasons).toEqual([reason.fraud]);
    expect(t.patch).toEqual({});
  });

  it.each(TERMINAL)('records a late verified event on a %s case without changing anything', (status) => {
    const t = mustDecide(kase({ status }), { kind: 'provider_event', event: verifiedEvent() });
    expect(t.to).toBe(status);
    expect(t.detail).toMatch(/late event/);
    expect(t.reasons).toBeUndefined();
    expect(t.patch).toEqual({});
  });

  it('records a late informational poll on a verified case', () => {
    const t = mustDecide(kase({ status: 'verified' }), {
      kind: 'provider_event',
      event: event({ source: 'poll', outcome: 'pending', terminal: false, informational: true, providerStatus: 'ON_HOLD' }),
    });
    expect(t).toMatchObject({ to: 'verified', source: 'poll', event: 'poll:user.verification.failed', patch: {} });
  });
});

describe('decide: out-of-order provider events', () => {
  it.each(NON_TERMINAL)('ignores a verified event older than the last applied state when the case is %s', (status) => {
    const c = kase({ status, lastEventAt: '2026-05-01T10:00:00.000Z' });
    const t = mustDecide(c, { kind: 'provider_event', event: verifiedEvent({ occurredAt: '2026-05-01T09:59:59.000Z' }) });
    expect(t.to).toBe(status);
    expect(t.detail).toMatch(/out-of-order/);
    expect(t.patch).toEqual({});
  });

  it('ignores an older rejection and keeps its reasons out of the case', () => {
    const c = kase({ lastEventAt: '2026-05-01T10:00:00.000Z' });
    const t = mustDecide(c, { kind: 'provider_event', event: event({ occurredAt: '2026-04-01T00:00:00.000Z', reasons: [reason.fraud] }) });
    expect(t.to).toBe('awaiting_verification');
    expect(t.patch).toEqual({});
  });

  it('applies an event with the same occurredAt as the last applied state', () => {
    const c = kase({ lastEventAt: '2026-05-01T10:00:00.000Z' });
    const t = mustDecide(c, { kind: 'provider_event', event: verifiedEvent({ occurredAt: '2026-05-01T10:00:00.000Z' }) });
    expect(t.to).toBe('verified');
  });

  it('applies a newer event and advances lastEventAt', () => {
    const c = kase({ lastEventAt: '2026-05-01T10:00:00.000Z' });
    const t = mustDecide(c, { kind: 'provider_event', event: verifiedEvent({ occurredAt: '2026-05-01T11:00:00.000Z' }) });
    expect(t.to).toBe('verified');
    expect(t.patch.lastEventAt).toBe('2026-05-01T11:00:00.000Z');
  });

  it('applies an event without occurredAt and keeps the previous lastEventAt', () => {
    const c = kase({ lastEventAt: '2026-05-01T10:00:00.000Z' });
    const t = mustDecide(c, { kind: 'provider_event', event: verifiedEvent() });
    expect(t.to).toBe('verified');
    expect(t.patch.lastEventAt).toBe('2026-05-01T10:00:00.000Z');
  });

  it('ignores an older event whose occurredAt is written with a UTC offset', () => {
    const c = kase({ lastEventAt: '2026-05-01T10:00:00.000Z' });
    // 11:00+02:00 is 09:00Z: one hour older than the last applied state.
    const t = mustDecide(c, { kind: 'provider_event', event: verifiedEvent({ occurredAt: '2026-05-01T11:00:00+02:00' }) });
    expect(t.to).toBe('awaiting_verification');
    expect(t.detail).toMatch(/out-of-order/);
  });
});

describe('decide: verified provider event', () => {
  it.each(NON_TERMINAL)('moves a %s case to verified with decidedAt', (status) => {
    const c = kase({
      status,
      escalation: status === 'escalated' ? { since: EARLIER, proposedAction: 'manual review' } : undefined,
    });
    const t = mustDecide(c, { kind: 'provider_event', event: verifiedEvent({ occurredAt: AT }) });
    expect(t.to).toBe('verified');
    expect(t.event).toBe('webhook:user.verification.accepted');
    expect(t.source).toBe('webhook');
    expect(t.detail).toBeUndefined();
    expect(t.patch.decidedAt).toBe(AT);
    expect(t.patch.providerStatus).toBe('VERIFIED');
    expect(t.patch.lastEventAt).toBe(AT);
    expectCleared(t.patch, 'escalation');
  });

  it('notes that polling found the state when no webhook delivered it', () => {
    const t = mustDecide(kase(), { kind: 'provider_event', event: verifiedEvent({ source: 'poll', webhookExpected: true }) });
    expect(t.to).toBe('verified');
    expect(t.source).toBe('poll');
    expect(t.event).toBe('poll:user.verification.accepted');
    expect(t.detail).toMatch(/polling/);
  });

  it('says nothing of drift for a provider without webhooks, where polling is the channel', () => {
    const t = mustDecide(kase(), { kind: 'provider_event', event: verifiedEvent({ source: 'poll', webhookExpected: false }) });
    expect(t.to).toBe('verified');
    expect(t.detail).toBeUndefined();
  });

  it('ignores a poll read before the latest re-issue or re-create (its basis is stale)', () => {
    const c = kase({ attempts: 2, createRound: 0 });
    const stale = (basis: { attempts: number; createRound: number }) => decide(c, { kind: 'provider_event', event: event({ source: 'poll', basis, reasons: [reason.sessionExpired] }) }, policy, NOW);
    expect(stale({ attempts: 1, createRound: 0 })).toBeNull();
    expect(stale({ attempts: 2, createRound: 1 })).toBeNull();
    expect(stale({ attempts: 2, createRound: 0 })?.to).toBe('remediating');
  });

  it('does not verify when the provider status is not terminal', () => {
    const c = kase({ providerStatus: 'PENDING' });
    const t = mustDecide(c, {
      kind: 'provider_event',
      event: verifiedEvent({ terminal: false, providerStatus: 'IN_REVIEW' }),
    });
    expect(t.to).toBe('awaiting_verification');
    expect(t.patch.decidedAt).toBeUndefined();
    expect(t.patch.providerStatus).toBe('IN_REVIEW');
  });
});

describe('decide: informational provider event', () => {
  const info = (over: Partial<ProviderEvent> = {}): CaseInput => ({
    kind: 'provider_event',
    event: event({ type: 'user.status_changed', outcome: 'pending', terminal: false, informational: true, ...over }),
  });

  it.each(NON_TERMINAL)('records only the new provider status when the case is %s', (status) => {
    const c = kase({ status, providerStatus: 'PENDING' });
    const t = mustDecide(c, info({ providerStatus: 'IN_REVIEW' }));
    expect(t.to).toBe(status);
    expect(t.detail).toBe('provider status IN_REVIEW');
    expect(t.patch.providerStatus).toBe('IN_REVIEW');
    expect(t.patch.attempts).toBeUndefined();
    expect(t.patch.reasons).toBeUndefined();
  });

  it('records a rejected-looking informational event without deciding on it', () => {
    const c = kase({ providerStatus: 'PENDING' });
    const t = mustDecide(c, info({ outcome: 'rejected', terminal: true, providerStatus: 'REJECTED', reasons: [reason.fraud] }));
    expect(t.to).toBe('awaiting_verification');
    expect(t.patch.providerStatus).toBe('REJECTED');
    expect(t.patch.decidedAt).toBeUndefined();
    expect(t.patch.reasons).toBeUndefined();
  });

  it('returns null when neither the provider status nor the deadline changed', () => {
    const c = kase({ providerStatus: 'PENDING', deadline: '2026-06-01T00:00:00.000Z' });
    expect(decide(c, info({ providerStatus: 'PENDING', deadline: '2026-06-01T00:00:00.000Z' }), policy, NOW)).toBeNull();
  });

  it('returns null for a pending poll that carries no status at all', () => {
    const c = kase({ providerStatus: 'PENDING' });
    const pending: CaseInput = {
      kind: 'provider_event',
      event: event({ source: 'poll', outcome: 'pending', terminal: false, providerStatus: undefined }),
    };
    expect(decide(c, pending, policy, NOW)).toBeNull();
  });

  it('records a new provider deadline', () => {
    const c = kase({ providerStatus: 'PENDING' });
    const t = mustDecide(c, info({ providerStatus: 'PENDING', deadline: '2026-06-01T00:00:00.000Z' }));
    expect(t.to).toBe('awaiting_verification');
    expect(t.patch.deadline).toBe('2026-06-01T00:00:00.000Z');
  });
});

describe('decide: rejection while awaiting verification', () => {
  it('remediates a session_expired rejection and counts the attempt', () => {
    const t = mustDecide(kase({ attempts: 1 }), rejection(reason.sessionExpired));
    expect(t.to).toBe('remediating');
    expect(t.reasons).toEqual([reason.sessionExpired]);
    expect(t.patch.reasons).toEqual([reason.sessionExpired]);
    expect(t.patch.attempts).toBe(2);
    expect(t.patch.providerStatus).toBe('REJECTED');
    expect(t.patch.decidedAt).toBeUndefined();
  });

  it('remediates missing_data when the applicant now has the field', () => {
    const c = kase({ applicant: applicant({ sourceOfFunds: 'salary' }) });
    const t = mustDecide(c, rejection(reason.missingSourceOfFunds));
    expect(t.to).toBe('remediating');
    expect(t.patch.attempts).toBe(1);
  });

  it('escalates missing_data with needsFields when the applicant lacks the field', () => {
    const t = mustDecide(kase(), rejection(reason.missingSourceOfFunds));
    expect(t.to).toBe('escalated');
    expect(t.patch.attempts).toBeUndefined();
    expect(t.patch.reasons).toEqual([reason.missingSourceOfFunds]);
    expect(t.patch.escalation).toMatchObject({ since: AT, needsFields: ['sourceOfFunds'] });
    expect(t.patch.escalation?.proposedAction).toMatch(/supply sourceOfFunds/);
    expect(t.patch.providerStatus).toBe('REJECTED');
  });

  it.each([reason.unreadable, reason.docExpired, reason.mismatch, reason.sanctions, reason.unknown])(
    'escalates for manual review on $code',
    (r) => {
      const t = mustDecide(kase(), rejection(r));
      expect(t.to).toBe('escalated');
      expect(t.patch.reasons).toEqual([r]);
      expect(t.patch.escalation?.proposedAction).toMatch(/manual review/);
      expect(t.patch.escalation?.needsFields).toBeUndefined();
      expect(t.patch.decidedAt).toBeUndefined();
    },
  );

  it.each([reason.fraud, reason.underage, reason.unsupportedCountry])('rejects on $code with decidedAt', (r) => {
    const t = mustDecide(kase(), rejection(r));
    expect(t.to).toBe('rejected');
    expect(t.detail).toBe('rejected by rule');
    expect(t.patch.decidedAt).toBe(AT);
    expect(t.patch.reasons).toEqual([r]);
  });

  it('escalates a rejection delivered without reasons as unknown', () => {
    const t = mustDecide(kase(), rejection());
    expect(t.to).toBe('escalated');
    expect(t.patch.reasons).toEqual([{ code: 'unknown', providerText: 'no reasons delivered' }]);
  });

  it('lets reject beat escalate and remediate among several reasons', () => {
    const t = mustDecide(kase(), rejection(reason.sessionExpired, reason.sanctions, reason.fraud));
    expect(t.to).toBe('rejected');
    expect(t.patch.reasons).toHaveLength(3);
  });

  it('lets escalate beat remediate among several reasons', () => {
    const t = mustDecide(kase(), rejection(reason.sessionExpired, reason.mismatch));
    expect(t.to).toBe('escalated');
  });

  it('escalates instead of remediating once attempts reach maxAttempts', () => {
    const t = mustDecide(kase({ attempts: 3 }), rejection(reason.sessionExpired));
    expect(t.to).toBe('escalated');
    expect(t.patch.attempts).toBeUndefined();
    expect(t.patch.escalation?.proposedAction).toMatch(/exhausted after 3 attempts/);
  });

  it('still remediates one attempt below maxAttempts', () => {
    const t = mustDecide(kase({ attempts: 2 }), rejection(reason.sessionExpired));
    expect(t.to).toBe('remediating');
    expect(t.patch.attempts).toBe(3);
  });

  it('honours a policy with maxAttempts 0 by escalating at once', () => {
    const t = mustDecide(kase(), rejection(reason.sessionExpired), { maxAttempts: 0 });
    expect(t.to).toBe('escalated');
  });

  it('prefixes the remediation detail when polling found the rejection', () => {
    const t = mustDecide(kase(), { kind: 'provider_event', event: event({ source: 'poll', webhookExpected: true, reasons: [reason.sessionExpired] }) });
    expect(t.to).toBe('remediating');
    expect(t.source).toBe('poll');
    expect(t.detail).toMatch(/^found by polling.*; update the provider profile/);
  });

  it.each(['queued', 'creating'] as const)('decides a rejection that arrives while the case is %s', (status) => {
    const t = mustDecide(kase({ status }), rejection(reason.fraud));
    expect(t.to).toBe('rejected');
  });
});

describe('decide: rejection while remediating or escalated', () => {
  it.each(['remediating', 'escalated'] as const)('records the reasons and keeps the case %s', (status) => {
    const c = kase({ status, attempts: 1, reasons: [reason.sessionExpired] });
    const t = mustDecide(c, rejection(reason.fraud));
    expect(t.to).toBe(status);
    expect(t.detail).toBe(`rejection recorded while ${status}`);
    expect(t.reasons).toEqual([reason.fraud]);
    expect(t.patch.reasons).toEqual([reason.fraud]);
    expect(t.patch.attempts).toBeUndefined();
    expect(t.patch.decidedAt).toBeUndefined();
  });

  it.each(['remediating', 'escalated'] as const)('keeps the stored reasons when a poll finds the rejection without any (%s)', (status) => {
    const missing = { code: 'missing_data', field: 'sourceOfFunds', providerText: 'Missing required field: source_of_funds' } as const;
    const c = kase({ status, attempts: 1, reasons: [missing], providerStatus: 'REJECTED' });
    const lost = event({ source: 'poll', webhookExpected: true, providerStatus: 'REJECTED', reasons: [{ code: 'unknown', providerText: 'rejected, but the provider returns no reasons by polling' }] });
    // The same provider status: nothing new at all, no timeline entry.
    expect(decide(c, { kind: 'provider_event', event: lost }, policy, NOW)).toBeNull();
    // Another status: noted, the reasons on record untouched.
    const t = mustDecide({ ...c, providerStatus: 'VERIFYING' }, { kind: 'provider_event', event: lost });
    expect(t.to).toBe(status);
    expect(t.patch.reasons).toBeUndefined();
    expect(t.patch.providerStatus).toBe('REJECTED');
  });
});

describe('decide: reasons that arrive after a reasonless escalation', () => {
  // A poll found Kira's REJECTED before the failure webhook (the one carrier of the reasons) was applied.
  const lost = { code: 'unknown', providerText: 'rejected, but the provider returns no reasons by polling' } as const;
  const escalatedBlind = () => kase({ status: 'escalated', providerStatus: 'REJECTED', reasons: [lost], escalation: { since: EARLIER, proposedAction: 'manual review' } });

  it('remediates on the late reasons and clears the escalation', () => {
    const t = mustDecide(escalatedBlind(), rejection(reason.sessionExpired));
    expect(t.to).toBe('remediating');
    expect(t.reasons).toEqual([reason.sessionExpired]);
    expect(t.patch.attempts).toBe(1);
    expectCleared(t.patch, 'escalation');
    expect(t.detail).toMatch(/^the reasons arrived after the case was escalated without them; /);
  });

  it('rejects by rule on late reasons that say so', () => {
    const t = mustDecide(escalatedBlind(), rejection(reason.fraud));
    expect(t.to).toBe('rejected');
    expect(t.patch.decidedAt).toBe(AT);
    expectCleared(t.patch, 'escalation');
  });

  it('stays escalated, keeping since, when the late reasons call for a human too', () => {
    const t = mustDecide(escalatedBlind(), rejection(reason.sanctions));
    expect(t.to).toBe('escalated');
    expect(t.patch.reasons).toEqual([reason.sanctions]);
    expect(t.patch.escalation?.since).toBe(EARLIER);
  });

  it('does not re-decide a case escalated on reasons it had, nor on a second reasonless rejection', () => {
    const known = mustDecide(kase({ status: 'escalated', reasons: [reason.sanctions] }), rejection(reason.sessionExpired));
    expect(known.to).toBe('escalated');
    expect(known.detail).toBe('rejection recorded while escalated');
    // The same provider status and still no reasons: nothing new, no timeline entry.
    expect(decide(escalatedBlind(), rejection(reason.unknown), policy, NOW)).toBeNull();
  });
});

describe('decide: remediation_submitted', () => {
  it('awaits verification again when the attempt matches', () => {
    const t = mustDecide(kase({ status: 'remediating', attempts: 2 }), { kind: 'remediation_submitted', attempt: 2, detail: 'profile updated' });
    expect(t).toMatchObject({ to: 'awaiting_verification', event: 'remediation_submitted', detail: 'profile updated' });
  });

  it('returns null for a stale attempt number', () => {
    expect(decide(kase({ status: 'remediating', attempts: 2 }), { kind: 'remediation_submitted', attempt: 1, detail: 'x' }, policy, NOW)).toBeNull();
  });

  it.each(CASE_STATUSES.filter((s) => s !== 'remediating'))('returns null when the case is %s', (status) => {
    expect(decide(kase({ status, attempts: 1 }), { kind: 'remediation_submitted', attempt: 1, detail: 'x' }, policy, NOW)).toBeNull();
  });
});

describe('decide: remediation_failed', () => {
  const input: CaseInput = {
    kind: 'remediation_failed',
    reason: { code: 'provider_error', providerText: 'update refused' },
    errors: [{ field: 'phone', message: 'invalid' }],
  };

  it('escalates a remediating case with the provider errors', () => {
    const t = mustDecide(kase({ status: 'remediating', attempts: 1 }), input);
    expect(t.to).toBe('escalated');
    expect(t.patch.providerErrors).toEqual([{ field: 'phone', message: 'invalid' }]);
    expect(t.patch.reasons).toEqual([{ code: 'provider_error', providerText: 'update refused' }]);
    expect(t.patch.escalation?.since).toBe(AT);
  });

  it.each(CASE_STATUSES.filter((s) => s !== 'remediating'))('returns null when the case is %s', (status) => {
    expect(decide(kase({ status }), input, policy, NOW)).toBeNull();
  });
});

describe('decide: applicant_updated', () => {
  it.each(TERMINAL)('throws CaseConflictError when the case is %s', (status) => {
    expect(() => decide(kase({ status }), { kind: 'applicant_updated', patch: { sourceOfFunds: 'salary' } }, policy, NOW)).toThrow(
      CaseConflictError,
    );
  });

  it.each(['queued', 'creating', 'awaiting_verification', 'remediating'] as const)(
    'stores the merged applicant and keeps the case %s',
    (status) => {
      const t = mustDecide(kase({ status }), { kind: 'applicant_updated', patch: { sourceOfFunds: 'salary', occupation: 'engineer' } });
      expect(t.to).toBe(status);
      expect(t.source).toBe('api');
      expect(t.detail).toBe('fields supplied: sourceOfFunds, occupation');
      expect(t.patch.applicant).toEqual({ ...applicant(), sourceOfFunds: 'salary', occupation: 'engineer' });
    },
  );

  it('sends an escalated case without a provider user back to queued for another create round', () => {
    const c = kase({
      status: 'escalated',
      providerUserId: undefined,
      createRound: 1,
      reasons: [reason.missingSourceOfFunds],
      escalation: { since: EARLIER, proposedAction: 'supply sourceOfFunds', needsFields: ['sourceOfFunds'] },
      providerErrors: [{ field: 'source_of_funds', message: 'required' }],
    });
    const t = mustDecide(c, { kind: 'applicant_updated', patch: { sourceOfFunds: 'salary' } });
    expect(t.to).toBe('queued');
    expect(t.patch.createRound).toBe(2);
    expect(t.patch.reasons).toEqual([]);
    expectCleared(t.patch, 'escalation');
    expectCleared(t.patch, 'providerErrors');
    expect(t.patch.applicant?.sourceOfFunds).toBe('salary');
  });

  it('resumes remediation on an escalated missing_data case once the field is supplied', () => {
    const c = kase({
      status: 'escalated',
      attempts: 1,
      reasons: [reason.missingSourceOfFunds],
      escalation: { since: EARLIER, proposedAction: 'supply sourceOfFunds', needsFields: ['sourceOfFunds'] },
    });
    const t = mustDecide(c, { kind: 'applicant_updated', patch: { sourceOfFunds: 'salary' } });
    expect(t.to).toBe('remediating');
    expect(t.detail).toMatch(/remediation resumes/);
    expect(t.patch.attempts).toBe(2);
    expectCleared(t.patch, 'escalation');
    expect(t.patch.applicant?.sourceOfFunds).toBe('salary');
  });

  it('stays escalated, keeping since, when the supplied data does not include the missing field', () => {
    const c = kase({
      status: 'escalated',
      reasons: [reason.missingSourceOfFunds],
      escalation: { since: EARLIER, proposedAction: 'supply sourceOfFunds', needsFields: ['sourceOfFunds'] },
    });
    const t = mustDecide(c, { kind: 'applicant_updated', patch: { occupation: 'engineer' } });
    expect(t.to).toBe('escalated');
    expect(t.patch.escalation).toMatchObject({ since: EARLIER, needsFields: ['sourceOfFunds'] });
    expect(t.patch.attempts).toBeUndefined();
  });

  it('stays escalated when the escalation reason is not about missing data', () => {
    const c = kase({ status: 'escalated', reasons: [reason.sanctions], escalation: { since: EARLIER, proposedAction: 'manual review' } });
    const t = mustDecide(c, { kind: 'applicant_updated', patch: { lastName: 'Lopez-Garcia' } });
    expect(t.to).toBe('escalated');
    expect(t.patch.escalation?.proposedAction).toMatch(/manual review/);
  });

  it('stays escalated when remediation attempts are exhausted even though the field is supplied', () => {
    const c = kase({ status: 'escalated', attempts: 3, reasons: [reason.missingSourceOfFunds], escalation: { since: EARLIER, proposedAction: 'x' } });
    const t = mustDecide(c, { kind: 'applicant_updated', patch: { sourceOfFunds: 'salary' } });
    expect(t.to).toBe('escalated');
    expect(t.patch.escalation?.proposedAction).toMatch(/exhausted/);
  });

  it('never changes the externalId of the applicant', () => {
    const patch = { externalId: 'someone-else', email: 'new@example.com' } as unknown as { email: string };
    const t = mustDecide(kase(), { kind: 'applicant_updated', patch });
    expect(t.patch.applicant?.externalId).toBe('partner-user-1');
    expect(t.patch.applicant?.email).toBe('new@example.com');
  });
});

describe('decide: resolve', () => {
  it.each(CASE_STATUSES.filter((s) => s !== 'escalated'))('throws CaseConflictError when the case is %s', (status) => {
    expect(() => decide(kase({ status }), { kind: 'resolve', action: 'retry' }, policy, NOW)).toThrow(CaseConflictError);
    expect(() => decide(kase({ status }), { kind: 'resolve', action: 'reject' }, policy, NOW)).toThrow(/not escalated/);
  });

  it('rejects an escalated case with decidedAt and the operator note', () => {
    const c = kase({ status: 'escalated', reasons: [reason.sanctions], escalation: { since: EARLIER, proposedAction: 'manual review' } });
    const t = mustDecide(c, { kind: 'resolve', action: 'reject', note: 'confirmed match' });
    expect(t).toMatchObject({ to: 'rejected', event: 'resolved_reject', source: 'operator', detail: 'operator: confirmed match' });
    expect(t.patch.decidedAt).toBe(AT);
    expectCleared(t.patch, 'escalation');
  });

  it('resumes remediation on retry when the provider user exists', () => {
    const c = kase({ status: 'escalated', attempts: 3, escalation: { since: EARLIER, proposedAction: 'x' } });
    const t = mustDecide(c, { kind: 'resolve', action: 'retry' });
    expect(t.to).toBe('remediating');
    expect(t.event).toBe('resolved_retry');
    expect(t.detail).toBeUndefined();
    expect(t.patch.attempts).toBe(4);
    expectCleared(t.patch, 'escalation');
  });

  it('goes back to queued with a new create round on retry when there is no provider user', () => {
    const c = kase({ status: 'escalated', providerUserId: undefined, createRound: 0, providerErrors: [{ message: 'bad' }] });
    const t = mustDecide(c, { kind: 'resolve', action: 'retry', note: 'data fixed' });
    expect(t.to).toBe('queued');
    expect(t.patch.createRound).toBe(1);
    expectCleared(t.patch, 'providerErrors');
    expect(t.detail).toBe('operator: data fixed');
  });
});

describe('decide: deadline_near', () => {
  const input: CaseInput = { kind: 'deadline_near', deadline: '2026-05-02T00:00:00.000Z' };

  it.each(['queued', 'creating', 'awaiting_verification', 'remediating'] as const)('escalates a %s case with the deadline', (status) => {
    const c = kase({ status, reasons: [reason.sessionExpired] });
    const t = mustDecide(c, input);
    expect(t.to).toBe('escalated');
    expect(t.patch.deadline).toBe('2026-05-02T00:00:00.000Z');
    expect(t.patch.reasons).toEqual([reason.sessionExpired]);
    expect(t.patch.escalation?.proposedAction).toContain('2026-05-02T00:00:00.000Z');
  });

  it.each(['escalated', 'verified', 'rejected'] as const)('returns null when the case is %s', (status) => {
    expect(decide(kase({ status }), input, policy, NOW)).toBeNull();
  });
});
