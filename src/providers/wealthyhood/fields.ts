/**
 * The one table between Wealthyhood's camelCase `POST /users` body (both schema versions) and our
 * canonical applicant paths. Used to build the payload, by preflight, and to turn Wealthyhood field
 * names in errors and failure reasons back into applicant paths.
 */
import { getField, type Applicant } from '../../kyc/applicant.js';
import { DEFAULT_PROOF_TYPE, NESTED_OBJECT_VERSIONS } from './inferred.js';

/** `v1`: the older create-user page (`kycStatus`, `emailVerified`); `v2`: the newer one. */
export type SchemaVersion = 'v1' | 'v2';
export const SCHEMA_VERSIONS: readonly SchemaVersion[] = ['v1', 'v2'];

/** How a canonical value becomes Wealthyhood's value. */
type Convert = 'string' | 'list' | 'language' | 'proofType';

export interface WealthyhoodField {
  /** Dotted path in Wealthyhood's body, e.g. `address.postalCode`. */
  readonly wh: string;
  /** Canonical applicant path: reported by preflight and error mapping, patchable by the partner. */
  readonly path: string;
  /** Where the value is read when that differs from `path` (e.g. the first of a list). */
  readonly read?: string;
  readonly versions: readonly SchemaVersion[];
  readonly convert: Convert;
}

const BOTH: readonly SchemaVersion[] = ['v1', 'v2'];
const V2: readonly SchemaVersion[] = ['v2'];
const NESTED = NESTED_OBJECT_VERSIONS;

const f = (
  wh: string,
  path: string,
  versions: readonly SchemaVersion[],
  extra: { read?: string; convert?: Convert } = {},
): WealthyhoodField => ({ wh, path, versions, convert: extra.convert ?? 'string', ...extra });

export const WEALTHYHOOD_FIELDS: readonly WealthyhoodField[] = [
  f('email', 'email', BOTH),
  f('firstName', 'firstName', BOTH),
  f('lastName', 'lastName', BOTH),
  f('dateOfBirth', 'dateOfBirth', BOTH),
  f('residencyCountry', 'address.country', BOTH),
  f('language', 'language', V2, { convert: 'language' }),
  f('nationality', 'nationalities', V2, { read: 'nationalities.0' }),
  f('address.line1', 'address.line1', NESTED),
  f('address.line2', 'address.line2', NESTED),
  f('address.city', 'address.city', NESTED),
  f('address.postalCode', 'address.postalCode', NESTED),
  f('address.countryCode', 'address.country', NESTED),
  f('taxResidency.countryCode', 'taxIds', NESTED, { read: 'taxIds.0.country' }),
  f('taxResidency.proofType', 'taxIds', NESTED, { read: 'taxIds.0.id', convert: 'proofType' }),
  f('taxResidency.value', 'taxIds', NESTED, { read: 'taxIds.0.id' }),
  f('employmentInfo.incomeRangeId', 'incomeRange', V2),
  f('employmentInfo.employmentStatus', 'employmentStatus', V2),
  f('employmentInfo.sourcesOfWealth', 'sourcesOfWealth', V2, { convert: 'list' }),
  f('employmentInfo.industry', 'industry', V2),
];

/** Languages Wealthyhood accepts (`en` English, `el` Greek). */
export const WEALTHYHOOD_LANGUAGES: readonly string[] = ['en', 'el'];

/** `industry` is required with these employment statuses. */
export const INDUSTRY_REQUIRED_FOR: readonly string[] = ['FullTime', 'PartTime', 'SelfEmployed'];

export function fieldsFor(version: SchemaVersion): WealthyhoodField[] {
  return WEALTHYHOOD_FIELDS.filter((x) => x.versions.includes(version));
}

/** Primary language subtag (`en-GB` → `en`) when Wealthyhood accepts it, else undefined. */
export function wealthyhoodLanguage(v: unknown): string | undefined {
  const lang = typeof v === 'string' ? (v.toLowerCase().split(/[-_]/)[0] ?? '') : '';
  return WEALTHYHOOD_LANGUAGES.includes(lang) ? lang : undefined;
}

/** The value Wealthyhood should receive for one field, or undefined (absent or not mappable). */
export function wealthyhoodValue(
  a: Applicant,
  field: WealthyhoodField,
): string | string[] | undefined {
  const v = getField(a, field.read ?? field.path);
  if (v === undefined || v === null || v === '') return undefined;
  switch (field.convert) {
    case 'string':
      return typeof v === 'string' ? v : undefined;
    case 'list':
      return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')
        ? v
        : undefined;
    case 'language':
      return wealthyhoodLanguage(v);
    case 'proofType':
      return DEFAULT_PROOF_TYPE;
  }
}

const BY_WH = new Map(WEALTHYHOOD_FIELDS.map((x) => [x.wh.toLowerCase(), x.path]));
/** Names Wealthyhood uses for whole objects or in responses. */
const ALIASES: Readonly<Record<string, string>> = {
  address: 'address',
  taxresidency: 'taxIds',
  nationalities: 'nationalities',
};

/**
 * A Wealthyhood field name (from an error body or a failure reason) → canonical applicant path.
 * Tolerates prefixes (`body.employmentInfo.industry`) and list indexes (`nationalities.0`).
 */
export function wealthyhoodFieldToCanonical(name: string): string | undefined {
  const key = name
    .trim()
    .replace(/\[(\d+)\]/g, '.$1')
    .replace(/\.\d+(?=\.|$)/g, '')
    .replace(/^(body|request|data)\./i, '')
    .toLowerCase();
  return BY_WH.get(key) ?? ALIASES[key];
}
