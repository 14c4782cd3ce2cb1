import { describe, expect, it } from 'vitest';
import type { Applicant } from '../../src/kyc/applicant.js';
import { createReasonMapper } from '../../src/kyc/reasons.js';
import { fixedClock } from '../../src/lib/clock.js';
import {
  buildCreatePayload,
  buildUpdatablePayload,
  buildUpdatePayload,
  buildVerificationForm,
  changedFields,
  createLocalNonceSource,
  digestFields,
  KRAKEN_COUNTRIES,
  krakenFieldToCanonical,
  mapKrakenStatus,
  parseKrakenWebhook,
  preflightKraken,
} from '../../src/providers/kraken/index.js';
import {
  describeKrakenError,
  isDuplicateExternalId,
  isInvalidNonce,
} from '../../src/providers/kraken/problems.js';

const reasons = createReasonMapper();

const complete: Applicant = {
  externalId: 'ext-1',
  email: 'erika@example.com',
  phone: '+4915112345678',
  firstName: 'Erika',
  middleName: 'Maria',
  lastName: 'Mustermann',
  dateOfBirth: '1988-02-03',
  language: 'de-DE',
  nationalities: ['DE', 'AT'],
  countryOfBirth: 'DE',
  cityOfBirth: 'Bonn',
  address: {
    line1: 'Hauptstr. 1',
    city: 'Berlin',
    postalCode: '10115',
    region: 'BE',
    country: 'DE',
  },
  taxIds: [{ id: '12345678901', country: 'DE' }],
  occupation: 'Computers and IT',
  employerName: 'ACME GmbH',
  tosVersionAccepted: 3,
  gender: 'female',
  sourceOfFunds: 'salary',
  identityDocument: {
    type: 'passport',
    number: 'C01X00T47',
    country: 'DE',
    expiresOn: '2030-01-01',
  },
};

describe('kraken payloads', () => {
  it('maps the canonical applicant onto the seed fields of POST /b2b/users', () => {
    expect(buildCreatePayload(complete)).toEqual({
      email: 'erika@example.com',
      external_id: 'ext-1',
      tos_version_accepted: 3,
      full_name: { first_name: 'Erika', last_name: 'Mustermann', middle_name: 'Maria' },
      date_of_birth: '1988-02-03',
      residence: {
        line1: 'Hauptstr. 1',
        city: 'Berlin',
        postal_code: '10115',
        province: 'BE',
        country: 'DE',
      },
      phone: '+4915112345678',
      nationalities: ['DE', 'AT'],
      occupation: 'computers_and_it',
      employer_name: 'ACME GmbH',
      city_of_birth: 'Bonn',
      country_of_birth: 'DE',
      tax_ids: [{ id: '12345678901', issuing_country: 'DE' }],
      language: 'de',
    });
  });

  it('PATCHes only the named top-level fields, whole objects, never email or external_id', () => {
    expect(buildUpdatePayload(complete, ['tax_ids'])).toEqual({
      tax_ids: [{ id: '12345678901', issuing_country: 'DE' }],
    });
    expect(buildUpdatePayload(complete, ['residence', 'email', 'external_id'])).toEqual({
      residence: {
        line1: 'Hauptstr. 1',
        city: 'Berlin',
        postal_code: '10115',
        province: 'BE',
        country: 'DE',
      },
    });
  });

  it('picks the fields to PATCH by comparing digests of what Kraken holds with the applicant now', () => {
    const secret = Buffer.from('ledger-secret').toString('base64');
    const iiban = 'AA12 ABCD EFGH IJKL';
    const { taxIds: _t, ...withoutTax } = complete;
    const held = digestFields(secret, iiban, buildUpdatablePayload(withoutTax));
    expect(Object.keys(held)).not.toContain('email');
    expect(Object.values(held).every((d) => /^[0-9a-f]{32}$/.test(d))).toBe(true);
    // Nothing changed → nothing to PATCH; a field added → only it; a name corrected → full_name.
    expect(
      changedFields(digestFields(secret, iiban, buildUpdatablePayload(withoutTax)), held),
    ).toEqual([]);
    expect(
      changedFields(digestFields(secret, iiban, buildUpdatablePayload(complete)), held),
    ).toEqual(['tax_ids']);
    const renamed = { ...withoutTax, lastName: 'Musterfrau' };
    expect(
      changedFields(digestFields(secret, iiban, buildUpdatablePayload(renamed)), held),
    ).toEqual(['full_name']);
    // Nested objects digest by value, not key order; unknown holdings → every field.
    const reordered = {
      ...withoutTax,
      address: {
        country: 'DE',
        postalCode: '10115',
        city: 'Berlin',
        region: 'BE',
        line1: 'Hauptstr. 1',
      },
    };
    expect(
      changedFields(digestFields(secret, iiban, buildUpdatablePayload(reordered)), held),
    ).toEqual([]);
    expect(changedFields(held, undefined)).toEqual(Object.keys(held));
    // Digests depend on the user and the secret, and never contain the value.
    expect(digestFields(secret, 'AA99 ZZZZ ZZZZ ZZZZ', { phone: complete.phone })).not.toEqual(
      digestFields(secret, iiban, { phone: complete.phone }),
    );
    expect(JSON.stringify(held)).not.toContain('Mustermann');
  });

  it('builds the identity_document verification as multipart with the document metadata', () => {
    const form = buildVerificationForm(complete, 'ext-ver-1')!;
    const boundary = /boundary=(\S+)$/.exec(form.contentType)![1]!;
    expect(form.contentType).toBe(`multipart/form-data; boundary=${boundary}`);
    const parts = form.body.split(`--${boundary}`);
    expect(parts.at(-1)).toBe('--\r\n');
    expect(parts[1]).toBe(
      '\r\nContent-Disposition: form-data; name="type"\r\n\r\nidentity_document\r\n',
    );
    const meta = JSON.parse(parts[2]!.split('\r\n\r\n')[1]!.replace(/\r\n$/, '')) as Record<
      string,
      unknown
    >;
    expect(meta).toEqual({
      identity: {
        full_name: { first_name: 'Erika', last_name: 'Mustermann', middle_name: 'Maria' },
        date_of_birth: '1988-02-03',
      },
      document_type: 'passport',
      document_number: 'C01X00T47',
      issuing_country: 'DE',
      expiration_date: '2030-01-01',
      nationality: 'DE',
      external_verification_id: 'ext-ver-1',
    });
    const { identityDocument: _d, ...noDocument } = complete;
    expect(buildVerificationForm(noDocument, 'x')).toBeUndefined();
  });
});

describe('kraken preflight', () => {
  it('passes a complete applicant', () => {
    expect(preflightKraken(complete)).toEqual([]);
  });

  it('reports every missing required field at once, by canonical path, without values', () => {
    const problems = preflightKraken({ externalId: 'x', firstName: 'Fraudster' });
    expect(problems.map((p) => p.field)).toEqual([
      'email',
      'tosVersionAccepted',
      'lastName',
      'dateOfBirth',
      'address.line1',
      'address.city',
      'address.postalCode',
      'address.country',
      'phone',
      'nationalities',
      'occupation',
      'identityDocument',
    ]);
    expect(JSON.stringify(problems)).not.toContain('Fraudster');
  });

  it('checks the occupation enum and the country list', () => {
    const problems = preflightKraken({
      ...complete,
      occupation: 'astronaut',
      nationalities: ['DE', 'ZZ'],
      taxIds: [{ id: '1', country: 'QQ' }],
    });
    expect(problems.map((p) => p.field)).toEqual([
      'occupation',
      'nationalities.1',
      'taxIds.0.country',
    ]);
    expect(problems[0]!.message).toContain('computers_and_it');
    expect(KRAKEN_COUNTRIES).toHaveLength(262);
    expect(KRAKEN_COUNTRIES).toContain('XK');
  });
});

describe('kraken status mapping', () => {
  const action = (reasons: string[], deadline = '2030-01-02T03:04:05Z') => ({
    action_type: 'verification',
    verification_type: 'identity',
    reasons,
    deadline,
  });

  it('initial_onboarding only → pending, with its deadline', () => {
    expect(
      mapKrakenStatus({ state: 'ok', required_actions: [action(['initial_onboarding'])] }),
    ).toEqual({
      providerStatus: 'onboarding',
      outcome: 'pending',
      terminal: false,
      reasonTexts: [],
      deadline: '2030-01-02T03:04:05.000Z',
    });
  });

  it('other reasons → rejected, not terminal, with the earliest deadline', () => {
    const m = mapKrakenStatus({
      state: 'ok',
      required_actions: [
        action(['initial_onboarding']),
        action(['sanctions_screening_match'], '2029-06-01T00:00:00Z'),
      ],
    });
    expect(m).toEqual({
      providerStatus: 'action_required',
      outcome: 'rejected',
      terminal: false,
      reasonTexts: ['sanctions_screening_match'],
      deadline: '2029-06-01T00:00:00.000Z',
    });
  });

  it('ok without required actions → verified; disabled/closed → rejected terminal; unknown → pending', () => {
    expect(mapKrakenStatus({ state: 'ok', required_actions: [] })).toMatchObject({
      outcome: 'verified',
      terminal: true,
    });
    expect(
      mapKrakenStatus({ state: 'disabled', reasons: ['suspected_document_fraud'] }),
    ).toMatchObject({
      providerStatus: 'disabled',
      outcome: 'rejected',
      terminal: true,
      reasonTexts: ['suspected_document_fraud'],
    });
    expect(mapKrakenStatus({ state: 'CLOSED' }).reasonTexts).toEqual([
      'user closed by Kraken; GET /b2b/users gives no reasons: ask Kraken why',
    ]);
    expect(mapKrakenStatus({ state: 'frozen' })).toMatchObject({
      providerStatus: 'frozen',
      outcome: 'pending',
      terminal: false,
    });
  });

  it('maps the simulator reason codes through the taxonomy', () => {
    const texts = [
      'sanctions_screening_match',
      'identity_document_expired',
      'suspected_document_fraud',
    ];
    expect(texts.map((t) => reasons.map(t).code)).toEqual([
      'sanctions_or_pep',
      'document_expired',
      'fraud_suspected',
    ]);
    expect(reasons.map('missing_field: tax_ids', krakenFieldToCanonical)).toMatchObject({
      code: 'missing_data',
      field: 'taxIds',
    });
    expect(
      reasons.map('user disabled by Kraken; GET /b2b/users gives no reasons: ask Kraken why').code,
    ).toBe('unknown');
    expect(reasons.map('verification_session_expired').code).toBe('session_expired');
  });

  it('a disabled user is decided on the reasons of its required actions: fraud rejects, sanctions escalate', () => {
    const disabled = (r: string[]) =>
      mapKrakenStatus({ state: 'disabled', required_actions: [action(r)] });
    expect(disabled(['suspected_document_fraud'])).toMatchObject({
      outcome: 'rejected',
      terminal: true,
      reasonTexts: ['suspected_document_fraud'],
    });
    expect(
      disabled(['sanctions_screening_match']).reasonTexts.map((t) => reasons.map(t).code),
    ).toEqual(['sanctions_or_pep']);
    expect(
      disabled(['suspected_document_fraud']).reasonTexts.map((t) => reasons.map(t).code),
    ).toEqual(['fraud_suspected']);
  });
});

describe('kraken field names', () => {
  it('aliases Kraken names (nested, indexed, prefixed) to canonical paths', () => {
    expect(krakenFieldToCanonical('residence.postal_code')).toBe('address.postalCode');
    expect(krakenFieldToCanonical('body.full_name.last_name')).toBe('lastName');
    expect(krakenFieldToCanonical('tax_ids[0].issuing_country')).toBe('taxIds');
    expect(krakenFieldToCanonical('nationalities.1')).toBe('nationalities');
    expect(krakenFieldToCanonical('residence')).toBe('address');
    expect(krakenFieldToCanonical('wallet')).toBeUndefined();
  });
});

describe('kraken error bodies', () => {
  it('reads classic errors, field problems and the special cases', () => {
    const p = describeKrakenError({
      error: ['EGeneral:Invalid arguments:residence.country', 'EGeneral:Invalid arguments:phone'],
    });
    expect(p.details).toEqual([
      { field: 'address.country', message: 'invalid (residence.country)' },
      { field: 'phone', message: 'invalid (phone)' },
    ]);
    expect(isInvalidNonce(describeKrakenError({ error: ['EAPI:Invalid nonce'] }))).toBe(true);
    expect(
      isInvalidNonce(
        describeKrakenError({
          errors: [{ field: 'Kraken-Nonce', type: 'Invalid nonce', msg: 'Invalid API nonce' }],
        }),
      ),
    ).toBe(true);
    // Only an answer that says so is a duplicate: not any 409, not a body-less one.
    const dup = (status: number, ...codes: string[]) =>
      isDuplicateExternalId(
        status,
        describeKrakenError(codes.length ? { error: codes } : undefined),
      );
    expect(dup(409, 'ENexus:User with this external_id already exists')).toBe(true);
    expect(dup(409, 'ENexus:Duplicate external_id')).toBe(true);
    expect(dup(409, 'ENexus:User already exists')).toBe(true);
    expect(dup(409)).toBe(false);
    expect(dup(409, 'ENexus:Webhook already exists')).toBe(false);
    expect(dup(409, 'EGeneral:Conflict')).toBe(false);
    expect(dup(400, 'EGeneral:Invalid arguments:external_id')).toBe(false);
    expect(dup(503, 'ENexus:User with this external_id already exists')).toBe(false);
  });

  it('never repeats something that looks like a value', () => {
    expect(
      describeKrakenError({ error: ['EGeneral:Invalid arguments:erika@example.com'] }).summary,
    ).toBe('error');
  });
});

describe('kraken webhook parsing', () => {
  const envelope = (event_type: string, extra: Record<string, unknown> = {}) => ({
    event_type,
    iiban: 'AA12 ABCD EFGH IJKL',
    id: 'AEGXGV-JZ4I2-6QXEJS',
    timestamp: '2025-01-15T10:30:00.123456789Z',
    ...extra,
  });

  it('user.verified → verified terminal event keyed by id, with an ISO occurredAt', () => {
    expect(parseKrakenWebhook(envelope('user.verified'), reasons)).toEqual({
      kind: 'event',
      event: {
        provider: 'kraken',
        providerEventId: 'AEGXGV-JZ4I2-6QXEJS',
        type: 'user.verified',
        userRef: 'AA12 ABCD EFGH IJKL',
        source: 'webhook',
        occurredAt: '2025-01-15T10:30:00.123Z',
        providerStatus: 'verified',
        outcome: 'verified',
        terminal: true,
        reasons: [],
      },
    });
  });

  it("user.disabled / user.closed decide nothing themselves: informational, no reasons, poll for the GET's reasons", () => {
    for (const [type, status] of [
      ['user.disabled', 'disabled'],
      ['user.closed', 'closed'],
    ] as const) {
      const parsed = parseKrakenWebhook(envelope(type), reasons);
      expect(parsed).toMatchObject({
        kind: 'event',
        event: {
          providerStatus: status,
          outcome: 'rejected',
          terminal: true,
          informational: true,
          pollForDetails: true,
          reasons: [],
        },
      });
    }
    const verified = parseKrakenWebhook(envelope('user.verified'), reasons);
    expect(verified.kind === 'event' && verified.event.pollForDetails).toBeFalsy();
  });

  it('webhook.test and other event types are ignored; user events without id or iiban are unusable', () => {
    expect(parseKrakenWebhook({ event_type: 'webhook.test', message: 'hi' }, reasons)).toEqual({
      kind: 'ignored',
      type: 'webhook.test',
    });
    expect(parseKrakenWebhook(envelope('quote.executed'), reasons)).toMatchObject({
      kind: 'ignored',
      type: 'quote.executed',
    });
    expect(parseKrakenWebhook(envelope('user.verified', { id: undefined }), reasons)).toMatchObject(
      { kind: 'unusable' },
    );
    expect(
      parseKrakenWebhook(envelope('user.verified', { iiban: undefined }), reasons),
    ).toMatchObject({ kind: 'unusable' });
    expect(parseKrakenWebhook([], reasons)).toMatchObject({ kind: 'unusable' });
  });
});

describe('kraken local nonce source', () => {
  it('increases strictly on a frozen clock and runs one call at a time', async () => {
    const nonces = createLocalNonceSource(fixedClock('2026-01-01T00:00:00Z'));
    let inFlight = 0;
    let maxInFlight = 0;
    const seen: string[] = [];
    await Promise.all(
      Array.from({ length: 50 }, () =>
        nonces.withNonce(
          async (n) => {
            inFlight += 1;
            maxInFlight = Math.max(maxInFlight, inFlight);
            await new Promise((r) => setImmediate(r));
            seen.push(n);
            inFlight -= 1;
          },
          { holdMs: 1000 },
        ),
      ),
    );
    expect(maxInFlight).toBe(1);
    expect(seen[0]).toBe('1767225600000000000');
    for (let i = 1; i < seen.length; i += 1) {
      expect(BigInt(seen[i]!)).toBe(BigInt(seen[i - 1]!) + 1n);
    }
  });
});
