/**
 * What Kira needs for automatic individual KYC (PROVIDERS.md §2.4), checked before any call.
 * Reports every problem at once, by canonical field path, and never echoes the values (PII).
 */
import { hasField, type Applicant } from '../../kyc/applicant.js';
import type { PreflightProblem } from '../provider-adapter.js';
import { KIRA_FIELDS, kiraValue } from './fields.js';

/** `source_of_funds`: exactly these 11 values; anything else → 400 invalid_enum_value. */
export const KIRA_SOURCE_OF_FUNDS: readonly string[] = [
  'salary',
  'self_employment_income',
  'investment_proceeds',
  'savings_inheritance_gift',
  'gifts',
  'inheritance',
  'investments_loans',
  'pension_retirement',
  'sale_of_assets_real_estate',
  'savings',
  'someone_elses_funds',
];

/** `account_purpose`: exactly these 14 values; anything else → 400 invalid_enum_value. */
export const KIRA_ACCOUNT_PURPOSES: readonly string[] = [
  'receive_payments',
  'manage_professional_income',
  'make_payments',
  'manage_personal_funds',
  'investment_trading',
  'charitable_donations',
  'investment_purposes',
  'operating_a_company',
  'payments_to_friends_or_family_abroad',
  'personal_or_living_expenses',
  'purchase_goods_and_services',
  'protect_wealth',
  'receive_salary',
  'receive_payment_for_freelancing',
];

const ENUMS: ReadonlyArray<{
  path: 'sourceOfFunds' | 'accountPurpose';
  allowed: readonly string[];
}> = [
  { path: 'sourceOfFunds', allowed: KIRA_SOURCE_OF_FUNDS },
  { path: 'accountPurpose', allowed: KIRA_ACCOUNT_PURPOSES },
];

export function preflightKira(a: Applicant): PreflightProblem[] {
  const problems: PreflightProblem[] = [];
  for (const field of KIRA_FIELDS) {
    if (field.required && !hasField(a, field.path)) {
      problems.push({
        field: field.path,
        message: `required by Kira for automatic KYC (${field.kira})`,
      });
    }
  }
  problems.push(...unmappableCountries(a));
  for (const e of ENUMS) {
    const v = a[e.path];
    if (v !== undefined && !e.allowed.includes(v)) {
      problems.push({
        field: e.path,
        message: `not one of Kira's accepted values: ${e.allowed.join(', ')}`,
      });
    }
  }
  return problems;
}

/** Countries the applicant has but Kira cannot receive (no ISO-3 code). */
export function unmappableCountries(a: Applicant): PreflightProblem[] {
  return KIRA_FIELDS.filter(
    (f) => isCountry(f.convert) && hasField(a, f.path) && kiraValue(a, f) === undefined,
  ).map((f) => ({
    field: f.path,
    message: 'country has no ISO 3166-1 alpha-3 code known to Kira',
  }));
}

/** Conversions that turn an ISO-2 country into ISO-3 (tax ids carry their issuing country). */
function isCountry(convert: string): boolean {
  return convert === 'iso3' || convert === 'firstIso3' || convert === 'taxIds';
}
