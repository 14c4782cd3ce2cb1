/**
 * Wealthyhood mapping: canonical applicant → payload per schema version, preflight's conditional
 * rules, field-name mapping back to canonical paths, and the kycStatus mapping.
 */
import { describe, expect, it } from 'vitest';
import { ApplicantSchema, type Applicant } from '../../src/kyc/applicant.js';
import {
  buildCreatePayload,
  mapKycStatus,
  preflightWealthyhood,
  wealthyhoodFieldToCanonical,
  wealthyhoodInferred,
} from '../../src/providers/wealthyhood/index.js';
import { sampleWealthyhoodApplicant } from '../../src/simulators/wealthyhood/index.js';

const applicant = (overrides: Record<string, unknown> = {}): Applicant =>
  ApplicantSchema.parse(sampleWealthyhoodApplicant(overrides));

function without(a: Applicant, ...keys: (keyof Applicant)[]): Applicant {
  const copy: Record<string, unknown> = { ...a };
  for (const k of keys) delete copy[k];
  return ApplicantSchema.parse(copy);
}

describe('buildCreatePayload', () => {
  it('maps a complete applicant to the newer (v2) camelCase body', () => {
    const a = applicant({
      address: {
        line1: 'Ermou 10',
        line2: 'Apt 3',
        city: 'Athens',
        postalCode: '10563',
        country: 'GR',
      },
    });
    expect(buildCreatePayload(a, 'v2')).toEqual({
      email: a.email,
      firstName: 'Eleni',
      lastName: 'Papadopoulou',
      dateOfBirth: '1990-05-15',
      residencyCountry: 'GR',
      language: 'el',
      nationality: 'GR',
      address: {
        line1: 'Ermou 10',
        line2: 'Apt 3',
        city: 'Athens',
        postalCode: '10563',
        countryCode: 'GR',
      },
      taxResidency: {
        countryCode: 'GR',
        proofType: wealthyhoodInferred.DEFAULT_PROOF_TYPE,
        value: '123456789',
      },
      employmentInfo: {
        incomeRangeId: '5',
        employmentStatus: 'FullTime',
        sourcesOfWealth: ['Salary'],
        industry: 'FinanceAndInsurance',
      },
    });
  });

  it('sends only the older schema fields in v1 (no language, nationality, employmentInfo)', () => {
    const body = buildCreatePayload(applicant(), 'v1');
    expect(Object.keys(body).sort()).toEqual([
      'address',
      'dateOfBirth',
      'email',
      'firstName',
      'lastName',
      'residencyCountry',
      'taxResidency',
    ]);
  });

  it('sends the primary language subtag and omits a language Wealthyhood does not accept', () => {
    expect(buildCreatePayload(applicant({ language: 'en-GB' }), 'v2').language).toBe('en');
    expect(buildCreatePayload(applicant({ language: 'de' }), 'v2')).not.toHaveProperty('language');
  });

  it('omits absent objects instead of sending them half-filled', () => {
    const body = buildCreatePayload(
      without(
        applicant(),
        'taxIds',
        'employmentStatus',
        'industry',
        'incomeRange',
        'sourcesOfWealth',
      ),
      'v2',
    );
    expect(body).not.toHaveProperty('taxResidency');
    expect(body).not.toHaveProperty('employmentInfo');
  });
});

describe('preflightWealthyhood', () => {
  it('passes a complete applicant in both versions', () => {
    expect(preflightWealthyhood(applicant(), 'v2')).toEqual([]);
    expect(preflightWealthyhood(applicant(), 'v1')).toEqual([]);
  });

  it('requires industry when employmentStatus is FullTime, PartTime or SelfEmployed (v2)', () => {
    for (const status of ['FullTime', 'PartTime', 'SelfEmployed']) {
      const problems = preflightWealthyhood(
        without(applicant({ employmentStatus: status }), 'industry'),
        'v2',
      );
      expect(problems).toEqual([
        { field: 'industry', message: expect.stringContaining('employmentInfo.industry') },
      ]);
    }
    expect(
      preflightWealthyhood(without(applicant({ employmentStatus: 'Retired' }), 'industry'), 'v2'),
    ).toEqual([]);
  });

  it('reports every missing employmentInfo field at once in v2 and none in v1', () => {
    const a = without(
      applicant(),
      'incomeRange',
      'sourcesOfWealth',
      'employmentStatus',
      'industry',
    );
    expect(preflightWealthyhood(a, 'v2').map((p) => p.field)).toEqual([
      'incomeRange',
      'employmentStatus',
      'sourcesOfWealth',
    ]);
    expect(preflightWealthyhood(a, 'v1')).toEqual([]);
  });

  it('reports the required identity and address fields by canonical path, all at once', () => {
    const a = ApplicantSchema.parse({
      externalId: 'x-1',
      incomeRange: '5',
      employmentStatus: 'Student',
      sourcesOfWealth: ['Savings'],
    });
    expect(preflightWealthyhood(a, 'v2').map((p) => p.field)).toEqual([
      'email',
      'firstName',
      'lastName',
      'dateOfBirth',
      'address.line1',
      'address.city',
      'address.postalCode',
      'address.country',
    ]);
  });

  it('accepts en/el only in v2 and ignores language in v1 (not sent)', () => {
    expect(preflightWealthyhood(applicant({ language: 'de' }), 'v2')).toEqual([
      { field: 'language', message: expect.stringMatching(/en or el/) },
    ]);
    expect(preflightWealthyhood(applicant({ language: 'en-GB' }), 'v2')).toEqual([]);
    expect(preflightWealthyhood(applicant({ language: 'de' }), 'v1')).toEqual([]);
  });

  it('checks name length and date validity without echoing the values', () => {
    // Preflight does not rely on the canonical schema having run (e.g. data stored before a schema change).
    const a = { ...applicant(), firstName: '   ', dateOfBirth: '1990-13-45' } as Applicant;
    const problems = preflightWealthyhood(a, 'v1');
    expect(problems.map((p) => p.field)).toEqual(['firstName', 'dateOfBirth']);
    expect(JSON.stringify(problems)).not.toContain('1990-13-45');
  });
});

describe('wealthyhoodFieldToCanonical', () => {
  it.each([
    ['employmentInfo.industry', 'industry'],
    ['employmentInfo.incomeRangeId', 'incomeRange'],
    ['body.address.postalCode', 'address.postalCode'],
    ['address.countryCode', 'address.country'],
    ['residencyCountry', 'address.country'],
    ['nationality', 'nationalities'],
    ['nationalities[0]', 'nationalities'],
    ['taxResidency.proofType', 'taxIds'],
    ['taxResidency', 'taxIds'],
    ['EMAIL', 'email'],
  ])('%s → %s', (name, path) => {
    expect(wealthyhoodFieldToCanonical(name)).toBe(path);
  });

  it('returns undefined for names it does not know', () => {
    expect(wealthyhoodFieldToCanonical('portfolios')).toBeUndefined();
  });
});

describe('mapKycStatus', () => {
  it('gates on passed/failed only', () => {
    expect(mapKycStatus('passed')).toEqual({
      providerStatus: 'passed',
      outcome: 'verified',
      terminal: true,
    });
    expect(mapKycStatus(' FAILED ')).toEqual({
      providerStatus: 'failed',
      outcome: 'rejected',
      terminal: true,
    });
    expect(mapKycStatus('pending')).toEqual({
      providerStatus: 'pending',
      outcome: 'pending',
      terminal: false,
    });
    expect(mapKycStatus('in_review')).toEqual({
      providerStatus: 'in_review',
      outcome: 'pending',
      terminal: false,
    });
  });
});
