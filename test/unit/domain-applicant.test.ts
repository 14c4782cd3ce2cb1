import { describe, expect, it } from 'vitest';
import {
  APPLICANT_FIELDS,
  ApplicantPatchSchema,
  ApplicantSchema,
  getField,
  hasField,
  mergeApplicant,
  type Applicant,
  type ApplicantPatch,
} from '../../src/kyc/applicant.js';

const FULL: Applicant = {
  externalId: 'partner-user_1.a@b-c',
  email: 'ana@example.com',
  phone: '+4915112345678',
  firstName: 'Ana',
  lastName: 'Lopez',
  middleName: 'Maria',
  dateOfBirth: '1990-04-02',
  gender: 'female',
  language: 'de-DE',
  nationalities: ['DE', 'ES'],
  countryOfBirth: 'ES',
  cityOfBirth: 'Madrid',
  address: { line1: 'Hauptstr. 1', line2: 'Hinterhaus', city: 'Berlin', postalCode: '10115', region: 'BE', country: 'DE' },
  taxIds: [{ id: 'DE123456789', country: 'DE' }],
  occupation: 'engineer',
  employerName: 'ACME GmbH',
  employmentStatus: 'employed',
  sourceOfFunds: 'salary',
  accountPurpose: 'investing',
  incomeRange: '50k-100k',
  industry: 'software',
  sourcesOfWealth: ['salary', 'inheritance'],
  identityDocument: { type: 'passport', number: 'C01X00T47', country: 'DE', expiresOn: '2031-01-31' },
  pep: false,
  tosVersionAccepted: 2,
};

function issuesOf(input: unknown): { path: string; message: string; code: string }[] {
  const r = ApplicantSchema.safeParse(input);
  expect(r.success).toBe(false);
  return r.error!.issues.map((i) => ({ path: i.path.join('.'), message: i.message, code: i.code }));
}

const paths = (input: unknown): string[] => issuesOf(input).map((i) => i.path);

describe('ApplicantSchema', () => {
  it('accepts a full applicant unchanged', () => {
    const r = ApplicantSchema.safeParse(FULL);
    expect(r.success).toBe(true);
    expect(r.data).toEqual(FULL);
  });

  it('accepts an applicant with only externalId', () => {
    expect(ApplicantSchema.safeParse({ externalId: 'x' }).success).toBe(true);
  });

  it('requires externalId', () => {
    expect(paths({ email: 'ana@example.com' })).toEqual(['externalId']);
  });

  it.each(['has space', 'slash/y', ''])('rejects externalId "%s"', (externalId) => {
    // An empty id breaks both the length and the character rule: every issue names externalId.
    expect([...new Set(paths({ externalId }))]).toEqual(['externalId']);
  });

  it.each([
    ['lower case', { nationalities: ['de'] }, 'nationalities.0'],
    ['alpha-3', { nationalities: ['DE', 'ESP'] }, 'nationalities.1'],
    ['address country', { address: { line1: 'a', city: 'b', postalCode: 'c', country: 'DEU' } }, 'address.country'],
    ['country of birth', { countryOfBirth: 'Germany' }, 'countryOfBirth'],
    ['tax id country', { taxIds: [{ id: '1', country: 'd1' }] }, 'taxIds.0.country'],
    ['document country', { identityDocument: { type: 'passport', number: '1', country: 'XXX' } }, 'identityDocument.country'],
  ])('rejects a non ISO-2 country (%s) at its path', (_name, over, path) => {
    const issues = issuesOf({ externalId: 'x', ...over });
    expect(issues.map((i) => i.path)).toEqual([path]);
    expect(issues[0]!.message).toMatch(/ISO 3166-1 alpha-2/);
  });

  it.each(['004915112345678', '+04915112345678', '+49 151 12345678', '+1234567890123456', '+1', '4915112345678'])(
    'rejects phone "%s" as not E.164',
    (phone) => {
      const issues = issuesOf({ externalId: 'x', phone });
      expect(issues.map((i) => i.path)).toEqual(['phone']);
      expect(issues[0]!.message).toMatch(/E\.164/);
    },
  );

  it.each(['+12', '+123456789012345'])('accepts phone "%s" at the E.164 length bounds', (phone) => {
    expect(ApplicantSchema.safeParse({ externalId: 'x', phone }).success).toBe(true);
  });

  it.each(['02.04.1990', '1990-4-2', '1990-04-02T00:00:00Z', '19900402'])('rejects dateOfBirth "%s"', (dateOfBirth) => {
    const issues = issuesOf({ externalId: 'x', dateOfBirth });
    expect(issues.map((i) => i.path)).toEqual(['dateOfBirth']);
    expect(issues[0]!.message).toMatch(/YYYY-MM-DD/);
  });

  it('rejects a document expiry that is not a date at its nested path', () => {
    expect(paths({ externalId: 'x', identityDocument: { type: 'passport', number: '1', country: 'DE', expiresOn: 'soon' } })).toEqual([
      'identityDocument.expiresOn',
    ]);
  });

  it('rejects unknown top-level keys and names them', () => {
    const issues = issuesOf({ externalId: 'x', favouriteColour: 'blue', ssn: '1' });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.code).toBe('unrecognized_keys');
    expect(issues[0]!.message).toContain('favouriteColour');
    expect(issues[0]!.message).toContain('ssn');
  });

  it('reports every problem at once, each with its own path', () => {
    const got = paths({ externalId: 'x', phone: '123', dateOfBirth: '1990', nationalities: ['de'], gender: 'unknown', email: 'no' });
    expect(got.sort()).toEqual(['dateOfBirth', 'email', 'gender', 'nationalities.0', 'phone']);
  });

  it('rejects an empty nationalities list', () => {
    expect(paths({ externalId: 'x', nationalities: [] })).toEqual(['nationalities']);
  });
});

describe('ApplicantPatchSchema', () => {
  it('accepts a partial update', () => {
    expect(ApplicantPatchSchema.safeParse({ sourceOfFunds: 'salary' }).success).toBe(true);
  });

  it('rejects an attempt to change externalId', () => {
    const r = ApplicantPatchSchema.safeParse({ externalId: 'other', sourceOfFunds: 'salary' });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toContain('externalId');
  });

  it('validates the fields it carries', () => {
    const r = ApplicantPatchSchema.safeParse({ phone: '0151' });
    expect(r.error!.issues.map((i) => i.path.join('.'))).toEqual(['phone']);
  });
});

describe('getField', () => {
  it.each([
    ['firstName', 'Ana'],
    ['address.city', 'Berlin'],
    ['identityDocument.number', 'C01X00T47'],
    ['taxIds.0.id', 'DE123456789'],
    ['nationalities.1', 'ES'],
    ['pep', false],
  ] as const)('reads %s', (path, value) => {
    expect(getField(FULL, path)).toEqual(value);
  });

  it.each(['address.nowhere', 'nothing.deeper', 'firstName.length', 'taxIds.3.id'])('returns undefined for %s', (path) => {
    expect(getField(FULL, path)).toBeUndefined();
  });

  it('returns undefined below a missing parent', () => {
    expect(getField({ externalId: 'x' }, 'address.city')).toBeUndefined();
  });
});

describe('hasField', () => {
  it.each(['sourceOfFunds', 'address.city', 'identityDocument.expiresOn', 'nationalities', 'pep'])('is true for present %s', (path) => {
    expect(hasField(FULL, path)).toBe(true);
  });

  it('is true for a boolean false, which is an answer', () => {
    expect(hasField({ externalId: 'x', pep: false }, 'pep')).toBe(true);
  });

  it.each([
    ['absent', { externalId: 'x' }, 'sourceOfFunds'],
    ['empty string', { externalId: 'x', sourceOfFunds: '' }, 'sourceOfFunds'],
    ['empty array', { externalId: 'x', nationalities: [] }, 'nationalities'],
    ['absent parent', { externalId: 'x' }, 'address.city'],
    ['absent nested', { externalId: 'x', address: { line1: 'a', city: 'b', postalCode: 'c', country: 'DE' } }, 'address.region'],
  ] as const)('is false for an %s field', (_name, a, path) => {
    expect(hasField(a as Applicant, path)).toBe(false);
  });
});

describe('mergeApplicant', () => {
  const base: Applicant = { externalId: 'partner-user-1', firstName: 'Ana', address: FULL.address };

  it('applies the patch and keeps other fields', () => {
    const merged = mergeApplicant(base, { sourceOfFunds: 'salary', firstName: 'Anna' });
    expect(merged).toEqual({ externalId: 'partner-user-1', firstName: 'Anna', sourceOfFunds: 'salary', address: FULL.address });
  });

  it('keeps externalId even when a patch carries one', () => {
    const patch = { externalId: 'hijack', email: 'x@example.com' } as unknown as ApplicantPatch;
    const merged = mergeApplicant(base, patch);
    expect(merged.externalId).toBe('partner-user-1');
    expect(merged.email).toBe('x@example.com');
  });

  it('replaces nested objects whole', () => {
    const merged = mergeApplicant(base, { address: { line1: 'New 1', city: 'Hamburg', postalCode: '20095', country: 'DE' } });
    expect(merged.address).toEqual({ line1: 'New 1', city: 'Hamburg', postalCode: '20095', country: 'DE' });
  });

  it('does not mutate the original applicant', () => {
    const copy = structuredClone(base);
    mergeApplicant(base, { firstName: 'Other' });
    expect(base).toEqual(copy);
  });
});

describe('APPLICANT_FIELDS', () => {
  it('lists every top-level schema key, for PII redaction', () => {
    expect([...APPLICANT_FIELDS].sort()).toEqual(Object.keys(FULL).sort());
  });
});
