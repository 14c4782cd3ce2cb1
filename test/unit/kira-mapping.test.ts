import { describe, expect, it } from 'vitest';
import type { Applicant } from '../../src/kyc/applicant.js';
import { createReasonMapper } from '../../src/kyc/reasons.js';
import { fixedClock } from '../../src/lib/clock.js';
import { remediationFields } from '../../src/providers/kira/adapter.js';
import { COUNTRY_COUNT, toIso3 } from '../../src/providers/kira/countries.js';
import { kiraFieldsFor, kiraFieldToCanonical } from '../../src/providers/kira/fields.js';
import {
  createKiraAdapter,
  KIRA_ACCOUNT_PURPOSES,
  KIRA_SOURCE_OF_FUNDS,
  mapKiraStatus,
} from '../../src/providers/kira/index.js';
import { buildCreatePayload, buildUpdatePayload } from '../../src/providers/kira/payload.js';
import { describeKiraError } from '../../src/providers/kira/problems.js';
import { mapKiraReason } from '../../src/providers/kira/webhook.js';

function complete(over: Partial<Applicant> = {}): Applicant {
  return {
    externalId: 'partner-user-1',
    email: 'ana@example.com',
    phone: '+5215512345678',
    firstName: 'Ana',
    lastName: 'Lopez',
    dateOfBirth: '1990-04-02',
    gender: 'female',
    nationalities: ['MX', 'ES'],
    address: {
      line1: 'Av. Reforma 1',
      city: 'CDMX',
      postalCode: '06600',
      region: 'CDMX',
      country: 'MX',
    },
    taxIds: [
      { id: 'LOAA900402XX1', country: 'MX' },
      { id: 'X1234567', country: 'ES' },
    ],
    occupation: 'engineer',
    employmentStatus: 'employed',
    sourceOfFunds: 'salary',
    accountPurpose: 'receive_salary',
    identityDocument: {
      type: 'passport',
      number: 'G12345678',
      country: 'MX',
      expiresOn: '2030-01-01',
    },
    pep: false,
    ...over,
  };
}

const adapter = createKiraAdapter({
  baseUrl: 'http://127.0.0.1:9',
  apiKey: 'k',
  clientId: 'c',
  password: 'p',
  webhookSecrets: ['s'],
  clock: fixedClock('2026-05-01T00:00:00Z'),
  reasons: createReasonMapper(),
});

describe('kira status mapping (gate on status, never verification_status)', () => {
  it.each([
    ['VERIFIED', 'verified', true],
    ['verified', 'verified', true],
    ['REJECTED', 'rejected', true],
    ['Rejected', 'rejected', true],
    ['CREATED', 'pending', false],
    ['VERIFYING', 'pending', false],
    ['ACTIVE', 'pending', false],
    ['REVIEW', 'pending', false],
    ['review', 'pending', false],
    ['SOMETHING_NEW', 'pending', false],
  ] as const)('%s → %s (terminal %s)', (status, outcome, terminal) => {
    expect(mapKiraStatus(status)).toEqual({
      providerStatus: status.toUpperCase(),
      outcome,
      terminal,
    });
  });

  it('exposes the adapter id and the 20 req/s rate limit', () => {
    expect(adapter.id).toBe('kira');
    expect(adapter.rateLimit).toEqual({ max: 20, durationMs: 1000 });
  });
});

describe('kira payload mapping', () => {
  it('builds the snake_case create body with ISO-3 countries and tax ids in identifying_information', () => {
    expect(
      buildCreatePayload(
        complete({
          middleName: 'Maria',
          language: 'es',
          address: {
            line1: 'Av. Reforma 1',
            line2: 'Piso 3',
            city: 'CDMX',
            postalCode: '06600',
            region: 'CDMX',
            country: 'MX',
          },
        }),
      ),
    ).toEqual({
      type: 'individual',
      external_id: 'partner-user-1',
      first_name: 'Ana',
      last_name: 'Lopez',
      email: 'ana@example.com',
      phone: '+5215512345678',
      birth_date: '1990-04-02',
      gender: 'female',
      language: 'es',
      nationality: 'MEX',
      address_street: 'Av. Reforma 1, Piso 3',
      address_city: 'CDMX',
      address_state: 'CDMX',
      address_zip_code: '06600',
      address_country: 'MEX',
      document_type: 'passport',
      document_number: 'G12345678',
      document_country: 'MEX',
      identifying_information: [
        { type: 'tax_id', issuing_country: 'MEX', number: 'LOAA900402XX1' },
        { type: 'tax_id', issuing_country: 'ESP', number: 'X1234567' },
      ],
      source_of_funds: 'salary',
      account_purpose: 'receive_salary',
      employment_status: 'employed',
      occupation: 'engineer',
      pep_status: false,
    });
  });

  it('sends only keys PROVIDERS.md §2.4 documents (unknown keys are a 400 at Kira)', () => {
    const documented = new Set([
      'type',
      'external_id',
      'language',
      'first_name',
      'last_name',
      'birth_date',
      'email',
      'phone',
      'nationality',
      'gender',
      'address_street',
      'address_city',
      'address_state',
      'address_zip_code',
      'address_country',
      'document_type',
      'document_number',
      'document_country',
      'identifying_information',
      'source_of_funds',
      'account_purpose',
      'employment_status',
      'occupation',
      'pep_status',
    ]);
    const everything = complete({
      middleName: 'Maria',
      language: 'es',
      countryOfBirth: 'MX',
      cityOfBirth: 'Puebla',
      employerName: 'ACME',
      incomeRange: 'less_than_10000',
      tosVersionAccepted: 3,
      address: {
        line1: 'Av. Reforma 1',
        line2: 'Piso 3',
        city: 'CDMX',
        postalCode: '06600',
        region: 'CDMX',
        country: 'MX',
      },
    });
    const keys = Object.keys(buildCreatePayload(everything));
    expect(keys.filter((k) => !documented.has(k))).toEqual([]);
    expect(keys).not.toContain('middle_name');
    expect(keys).not.toContain('tax_id');
  });

  it('keeps address_street to line1 without a second line, and sends a US tax id as ssn', () => {
    const body = buildCreatePayload(
      complete({
        taxIds: [
          { id: '123-45-6789', country: 'US' },
          { id: 'X1234567', country: 'ES' },
        ],
      }),
    );
    expect(body.address_street).toBe('Av. Reforma 1');
    expect(body.identifying_information).toEqual([
      { type: 'ssn', issuing_country: 'USA', number: '123-45-6789' },
      { type: 'tax_id', issuing_country: 'ESP', number: 'X1234567' },
    ]);
  });

  it('PUTs the tax ids as identifying_information when Kira asked for them', () => {
    const a = complete();
    const fields = remediationFields(a, [
      {
        code: 'missing_data',
        field: 'taxIds',
        providerText: 'Missing required field: identifying_information',
      },
    ]);
    expect(buildUpdatePayload(a, fields)).toEqual({
      identifying_information: [
        { type: 'tax_id', issuing_country: 'MEX', number: 'LOAA900402XX1' },
        { type: 'tax_id', issuing_country: 'ESP', number: 'X1234567' },
      ],
    });
  });

  it('omits undefined fields entirely (no nulls, no empty strings)', () => {
    const body = buildCreatePayload({ externalId: 'x-1', email: 'a@b.co', pep: true });
    expect(body).toEqual({
      type: 'individual',
      external_id: 'x-1',
      email: 'a@b.co',
      pep_status: true,
    });
    expect(Object.values(body)).not.toContain(undefined);
  });

  it('sends only en/es (primary subtag), omitting other languages', () => {
    expect(buildCreatePayload(complete({ language: 'de' }))).not.toHaveProperty('language');
    expect(buildCreatePayload(complete({ language: 'en-US' })).language).toBe('en');
    expect(buildCreatePayload(complete({ language: 'ES' })).language).toBe('es');
  });

  it('maps every ISO-2 country to ISO-3', () => {
    expect(COUNTRY_COUNT).toBe(250);
    expect([
      toIso3('US'),
      toIso3('de'),
      toIso3('GB'),
      toIso3('XK'),
      toIso3('SS'),
      toIso3('ZZ'),
    ]).toEqual(['USA', 'DEU', 'GBR', 'XKX', 'SSD', undefined]);
    expect(toIso3('constructor')).toBeUndefined();
  });

  it('never puts create-only fields in an update body', () => {
    const body = buildUpdatePayload(complete(), [
      ...kiraFieldsFor('externalId'),
      ...kiraFieldsFor('sourceOfFunds'),
    ]);
    expect(body).toEqual({ source_of_funds: 'salary' });
  });

  it('chooses the PUT fields from missing_data reasons the applicant now has', () => {
    const a = complete({ occupation: undefined });
    const fields = remediationFields(a, [
      { code: 'missing_data', field: 'sourceOfFunds', providerText: 't' },
      { code: 'missing_data', field: 'occupation', providerText: 't' },
      { code: 'missing_data', field: 'address', providerText: 't' },
      { code: 'session_expired', providerText: 't' },
    ]).map((f) => f.kira);
    expect(fields).toEqual([
      'source_of_funds',
      'address_street',
      'address_city',
      'address_state',
      'address_zip_code',
      'address_country',
    ]);
  });
});

describe('kira preflight', () => {
  it('passes a complete applicant', () => {
    expect(adapter.preflight(complete())).toEqual([]);
  });

  it('reports every missing field at once, by canonical path', () => {
    const fields = adapter.preflight({ externalId: 'only-id' }).map((p) => p.field);
    expect(fields.sort()).toEqual(
      [
        'accountPurpose',
        'address.city',
        'address.country',
        'address.line1',
        'address.postalCode',
        'address.region',
        'dateOfBirth',
        'email',
        'employmentStatus',
        'firstName',
        'gender',
        'identityDocument.country',
        'identityDocument.number',
        'identityDocument.type',
        'lastName',
        'nationalities',
        'occupation',
        'pep',
        'phone',
        'sourceOfFunds',
        'taxIds',
      ].sort(),
    );
  });

  it('accepts pep: false and ignores optional fields', () => {
    const problems = adapter.preflight(
      complete({ pep: false, middleName: undefined, language: undefined }),
    );
    expect(problems).toEqual([]);
  });

  it('reports values Kira would reject without echoing them', () => {
    const problems = adapter.preflight(
      complete({
        sourceOfFunds: 'lottery_win',
        accountPurpose: 'secret_purpose',
        language: 'de',
        address: { line1: 'x', city: 'y', postalCode: 'z', region: 'r', country: 'ZZ' },
        nationalities: ['QQ'],
      }),
    );
    expect(problems.map((p) => p.field).sort()).toEqual([
      'accountPurpose',
      'address.country',
      'nationalities',
      'sourceOfFunds',
    ]);
    expect(JSON.stringify(problems)).not.toMatch(/lottery_win|secret_purpose|ZZ|QQ/);
  });

  it('reports a tax id whose country has no ISO-3 code, and never sends part of the list', () => {
    const a = complete({
      taxIds: [
        { id: 'LOAA900402XX1', country: 'MX' },
        { id: '99', country: 'QQ' },
      ],
    });
    expect(adapter.preflight(a)).toEqual([
      { field: 'taxIds', message: 'country has no ISO 3166-1 alpha-3 code known to Kira' },
    ]);
    expect(buildCreatePayload(a)).not.toHaveProperty('identifying_information');
  });

  it('knows the exact Kira enums', () => {
    expect(KIRA_SOURCE_OF_FUNDS).toHaveLength(11);
    expect(KIRA_ACCOUNT_PURPOSES).toHaveLength(14);
    for (const v of KIRA_SOURCE_OF_FUNDS) {
      expect(adapter.preflight(complete({ sourceOfFunds: v }))).toEqual([]);
    }
    for (const v of KIRA_ACCOUNT_PURPOSES) {
      expect(adapter.preflight(complete({ accountPurpose: v }))).toEqual([]);
    }
  });
});

describe('kira field aliasing', () => {
  it.each([
    ['source_of_funds', 'sourceOfFunds'],
    ['address_city', 'address.city'],
    ['ADDRESS_ZIP_CODE', 'address.postalCode'],
    ['nationality', 'nationalities'],
    ['document_number', 'identityDocument.number'],
    ['pep_status', 'pep'],
    ['body.source_of_funds', 'sourceOfFunds'],
    ['missing_fields:account_purpose', 'accountPurpose'],
    ['residential_address.postal_code', 'address.postalCode'],
    ['identifying_information', 'taxIds'],
    ['identifying_information.0.number', 'taxIds'],
    ['body.identifying_information.1.issuing_country', 'taxIds'],
    ['missing_fields:identifying_information', 'taxIds'],
  ])('%s → %s', (kira, canonical) => {
    expect(kiraFieldToCanonical(kira)).toBe(canonical);
  });

  it('returns undefined for names that are not Kira user fields', () => {
    expect(kiraFieldToCanonical('required')).toBeUndefined();
    expect(kiraFieldToCanonical('identifying_information:file_proof_of_address')).toBeUndefined();
    expect(kiraFieldToCanonical('tax_id')).toBeUndefined();
    expect(kiraFieldToCanonical('middle_name')).toBeUndefined();
  });

  it('maps "Missing required field: source_of_funds" to missing_data on sourceOfFunds', () => {
    expect(mapKiraReason(createReasonMapper(), 'Missing required field: source_of_funds')).toEqual({
      code: 'missing_data',
      field: 'sourceOfFunds',
      providerText: 'Missing required field: source_of_funds',
    });
  });

  it('maps a reason naming identifying_information to missing_data on taxIds', () => {
    expect(
      mapKiraReason(createReasonMapper(), 'Missing required field: identifying_information'),
    ).toMatchObject({ code: 'missing_data', field: 'taxIds' });
  });

  it('leaves other reason codes alone', () => {
    expect(mapKiraReason(createReasonMapper(), 'Sanctions screening match')).toEqual({
      code: 'sanctions_or_pep',
      providerText: 'Sanctions screening match',
    });
  });

  it('maps schema error details back to canonical paths without echoing values', () => {
    const p = describeKiraError({
      error: 'Invalid request data',
      details: [
        {
          path: 'source_of_funds',
          message: "Invalid enum value. Expected 'salary' | 'gifts', received 'lottery'",
          code: 'invalid_enum_value',
        },
        { path: ['address_city'], message: 'Required', code: 'invalid_type' },
        { path: 'email', message: 'Invalid email ana@example.com', code: 'invalid_string' },
        {
          path: ['identifying_information', 0, 'issuing_country'],
          message: 'Invalid',
          code: 'invalid_string',
        },
      ],
    });
    expect(p.details.map((d) => d.field)).toEqual([
      'sourceOfFunds',
      'address.city',
      'email',
      'taxIds',
    ]);
    expect(p.summary).toBe(
      'invalid request data (fields: sourceOfFunds, address.city, email, taxIds)',
    );
    expect(JSON.stringify(p)).not.toMatch(/lottery|ana@example\.com/);
  });

  it('summarises business errors by code only', () => {
    expect(
      describeKiraError({ code: 'not_found', message: 'User ana@example.com not found' }),
    ).toEqual({
      summary: 'not_found',
      details: [{ message: 'User <redacted> not found' }],
    });
  });
});
