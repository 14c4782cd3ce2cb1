/**
 * What Wealthyhood needs, checked before any call (PROVIDERS.md §3.3): the documented create rules
 * (required fields, names 1–100 characters, countries `^[A-Z]{2}$`, language `en`/`el`, the
 * conditionally required `address` / `taxResidency` / `employmentInfo` sub-fields, `industry` for
 * FullTime / PartTime / SelfEmployed) for the configured schema version. Reports every problem at
 * once by canonical path, and never echoes values (PII).
 */
import { getField, hasField, type Applicant } from '../../kyc/applicant.js';
import type { PreflightProblem } from '../provider-adapter.js';
import { INDUSTRY_REQUIRED_FOR, wealthyhoodLanguage, type SchemaVersion } from './fields.js';
import { EMPLOYMENT_INFO_REQUIRED_IN_V2 } from './inferred.js';

const ISO2 = /^[A-Z]{2}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Always required: the documented create fields, and the address (it gives `residencyCountry`). */
const REQUIRED: ReadonlyArray<{ path: string; wh: string }> = [
  { path: 'email', wh: 'email' },
  { path: 'firstName', wh: 'firstName' },
  { path: 'lastName', wh: 'lastName' },
  { path: 'dateOfBirth', wh: 'dateOfBirth' },
  { path: 'address.line1', wh: 'address.line1' },
  { path: 'address.city', wh: 'address.city' },
  { path: 'address.postalCode', wh: 'address.postalCode' },
  { path: 'address.country', wh: 'residencyCountry, address.countryCode' },
];

const EMPLOYMENT: ReadonlyArray<{ path: string; wh: string }> = [
  { path: 'incomeRange', wh: 'employmentInfo.incomeRangeId' },
  { path: 'employmentStatus', wh: 'employmentInfo.employmentStatus' },
  { path: 'sourcesOfWealth', wh: 'employmentInfo.sourcesOfWealth' },
];

export function preflightWealthyhood(a: Applicant, version: SchemaVersion): PreflightProblem[] {
  const problems: PreflightProblem[] = [];
  const add = (field: string, message: string): void => {
    if (!problems.some((p) => p.field === field)) problems.push({ field, message });
  };
  for (const r of REQUIRED) {
    if (!hasField(a, r.path)) add(r.path, `required by Wealthyhood (${r.wh})`);
  }
  formatProblems(a, version).forEach((p) => add(p.field, p.message));
  if (version === 'v2') employmentProblems(a).forEach((p) => add(p.field, p.message));
  return problems;
}

function formatProblems(a: Applicant, version: SchemaVersion): PreflightProblem[] {
  const out: PreflightProblem[] = [];
  for (const path of ['firstName', 'lastName']) {
    const v = getField(a, path);
    if (typeof v === 'string' && (v.trim().length === 0 || v.length > 100)) {
      out.push({ field: path, message: 'must be 1–100 characters for Wealthyhood' });
    }
  }
  const dob = getField(a, 'dateOfBirth');
  if (typeof dob === 'string' && (!DATE.test(dob) || Number.isNaN(Date.parse(dob)))) {
    out.push({ field: 'dateOfBirth', message: 'must be a date YYYY-MM-DD' });
  }
  const countries = [
    { path: 'address.country', read: 'address.country' },
    { path: 'taxIds', read: 'taxIds.0.country' },
    ...(version === 'v2' ? [{ path: 'nationalities', read: 'nationalities.0' }] : []),
  ];
  for (const c of countries) {
    const v = getField(a, c.read);
    if (v !== undefined && (typeof v !== 'string' || !ISO2.test(v))) {
      out.push({ field: c.path, message: 'must be a two-letter country code (^[A-Z]{2}$)' });
    }
  }
  // taxResidency, when sent, needs countryCode and value (proofType is always set by us).
  if (hasField(a, 'taxIds') && (!hasField(a, 'taxIds.0.id') || !hasField(a, 'taxIds.0.country'))) {
    out.push({
      field: 'taxIds',
      message: 'taxResidency needs countryCode and value (first tax id)',
    });
  }
  if (version === 'v2' && hasField(a, 'language') && !wealthyhoodLanguage(a.language)) {
    out.push({
      field: 'language',
      message: 'Wealthyhood accepts only en or el; omit it or use one of them',
    });
  }
  return out;
}

function employmentProblems(a: Applicant): PreflightProblem[] {
  const anyGiven = [...EMPLOYMENT.map((e) => e.path), 'industry'].some((p) => hasField(a, p));
  if (!anyGiven && !EMPLOYMENT_INFO_REQUIRED_IN_V2) return [];
  const out: PreflightProblem[] = EMPLOYMENT.filter((e) => !hasField(a, e.path)).map((e) => ({
    field: e.path,
    message: `required by Wealthyhood (${e.wh})`,
  }));
  const status = a.employmentStatus;
  if (status !== undefined && INDUSTRY_REQUIRED_FOR.includes(status) && !hasField(a, 'industry')) {
    out.push({
      field: 'industry',
      message: `required by Wealthyhood when employmentStatus is ${INDUSTRY_REQUIRED_FOR.join(', ')} (employmentInfo.industry)`,
    });
  }
  return out;
}
