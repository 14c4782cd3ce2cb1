/**
 * What `POST /b2b/users` needs (seeds/kraken-embed-create-user.txt: required fields, the phone
 * pattern, the occupation enum, the country enum), and the identity document of the verification
 * submission Kraken decides on (verification.ts), checked before any call. Reports every problem
 * at once, by canonical field path, and never echoes a value (PII).
 */
import { hasField, type Applicant } from '../../kyc/applicant.js';
import type { PreflightProblem } from '../provider-adapter.js';
import { isKrakenCountry } from './countries.js';
import {
  INT32_MAX,
  KRAKEN_FIELDS,
  KRAKEN_OCCUPATIONS,
  KRAKEN_PHONE,
  normalizeOccupation,
} from './fields.js';
import { VERIFICATION_FIELDS } from './verification.js';

function countryProblems(a: Applicant): PreflightProblem[] {
  const out: PreflightProblem[] = [];
  const check = (field: string, code: string | undefined): void => {
    if (code !== undefined && !isKrakenCountry(code)) {
      out.push({
        field,
        message: 'not a country code Kraken accepts (ISO 3166-1 alpha-2 list of the API)',
      });
    }
  };
  check('address.country', a.address?.country);
  check('identityDocument.country', a.identityDocument?.country);
  check('countryOfBirth', a.countryOfBirth);
  a.nationalities?.forEach((c, i) => check(`nationalities.${i}`, c));
  a.taxIds?.forEach((t, i) => check(`taxIds.${i}.country`, t.country));
  return out;
}

export function preflightKraken(a: Applicant): PreflightProblem[] {
  const problems: PreflightProblem[] = [];
  for (const field of KRAKEN_FIELDS) {
    if (field.required && !hasField(a, field.path)) {
      problems.push({
        field: field.path,
        message: `required by Kraken to create a user (${field.kraken})`,
      });
    }
  }
  for (const path of VERIFICATION_FIELDS) {
    if (!hasField(a, path)) {
      problems.push({
        field: path,
        message:
          'needed for the identity_document verification Kraken decides on (POST /b2b/verifications/{user})',
      });
    }
  }
  if (a.phone !== undefined && !KRAKEN_PHONE.test(a.phone)) {
    problems.push({ field: 'phone', message: 'must match ^\\+?[1-9]\\d{1,14}$ (E.164)' });
  }
  if (a.occupation !== undefined && normalizeOccupation(a.occupation) === undefined) {
    problems.push({
      field: 'occupation',
      message: `not one of Kraken's occupations: ${KRAKEN_OCCUPATIONS.join(', ')}`,
    });
  }
  if (a.tosVersionAccepted !== undefined && a.tosVersionAccepted > INT32_MAX) {
    problems.push({ field: 'tosVersionAccepted', message: 'must be a 32-bit integer' });
  }
  problems.push(...countryProblems(a));
  return problems;
}
