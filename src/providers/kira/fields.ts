/**
 * The one table between Kira's snake_case user fields and our canonical applicant paths.
 * Used to build the create/update payload, by preflight (what Kira needs for automatic KYC) and to
 * alias Kira field names in errors and rejection reasons back to applicant paths.
 *
 * Only fields PROVIDERS.md §2.4 documents are sent: Kira answers unknown keys with
 * `400 "Unrecognized key(s)"` ([3P]). So three canonical fields have no column here, by decision:
 * - `address.line2` has no documented field: it is folded into `address_street` as "line1, line2".
 * - `middleName` and `identityDocument.expiresOn` have no documented field and are not needed for
 *   automatic KYC: they are not sent (the document image, not a field, carries the expiry).
 */
import { getField, type Applicant } from '../../kyc/applicant.js';
import { toIso3 } from './countries.js';

/** How a canonical value becomes Kira's value. */
type Convert = 'same' | 'iso3' | 'firstIso3' | 'street' | 'taxIds' | 'language';

/**
 * One `identifying_information[]` entry carrying a tax id. §2.4 documents the array and its `type`
 * (`ssn`, or `tax_id` for international); the inner names `issuing_country` (ISO-3, like every
 * country on Kira users) and `number` are not documented: they are inferred [INF], here only.
 */
export interface KiraTaxIdEntry {
  type: 'ssn' | 'tax_id';
  issuing_country: string;
  number: string;
}

/** The inner names of a tax id entry (see KiraTaxIdEntry), for aliasing error paths. */
const TAX_ID_ENTRY_KEYS: ReadonlySet<string> = new Set(['type', 'issuing_country', 'number']);

export type KiraValue = string | boolean | KiraTaxIdEntry[];

export interface KiraField {
  /** Kira's request field name. */
  readonly kira: string;
  /** Canonical applicant path (dotted). */
  readonly path: string;
  /** Needed by Kira for automatic individual KYC (PROVIDERS.md §2.4). */
  readonly required: boolean;
  readonly convert: Convert;
  /** Create-only: Kira answers 400 when it appears in a PUT. */
  readonly createOnly?: boolean;
}

const f = (
  kira: string,
  path: string,
  required: boolean,
  convert: Convert = 'same',
): KiraField => ({
  kira,
  path,
  required,
  convert,
});

export const KIRA_FIELDS: readonly KiraField[] = [
  { ...f('external_id', 'externalId', false), createOnly: true },
  f('first_name', 'firstName', true),
  f('last_name', 'lastName', true),
  f('email', 'email', true),
  f('phone', 'phone', true),
  f('birth_date', 'dateOfBirth', true),
  f('gender', 'gender', true),
  f('language', 'language', false, 'language'),
  f('nationality', 'nationalities', true, 'firstIso3'),
  f('address_street', 'address.line1', true, 'street'),
  f('address_city', 'address.city', true),
  f('address_state', 'address.region', true),
  f('address_zip_code', 'address.postalCode', true),
  f('address_country', 'address.country', true, 'iso3'),
  f('document_type', 'identityDocument.type', true),
  f('document_number', 'identityDocument.number', true),
  f('document_country', 'identityDocument.country', true, 'iso3'),
  f('identifying_information', 'taxIds', true, 'taxIds'),
  f('source_of_funds', 'sourceOfFunds', true),
  f('account_purpose', 'accountPurpose', true),
  f('employment_status', 'employmentStatus', true),
  f('occupation', 'occupation', true),
  f('pep_status', 'pep', true),
];

/** Languages Kira accepts; any other language is omitted, not sent. */
export const KIRA_LANGUAGES: readonly string[] = ['en', 'es'];

/** Names Kira uses in responses (nested, renamed) that differ from its request names. */
const RESPONSE_ALIASES: Readonly<Record<string, string>> = {
  'residential_address.street_line_1': 'address.line1',
  'residential_address.street_line_2': 'address.line2',
  'residential_address.city': 'address.city',
  'residential_address.subdivision': 'address.region',
  'residential_address.postal_code': 'address.postalCode',
  'residential_address.country': 'address.country',
};

const BY_KIRA = new Map(KIRA_FIELDS.map((x) => [x.kira, x]));
const CANONICAL_PATHS = new Set([
  ...KIRA_FIELDS.map((x) => x.path),
  ...Object.values(RESPONSE_ALIASES),
]);

export function isCanonicalPath(path: string): boolean {
  return CANONICAL_PATHS.has(path);
}

/**
 * A Kira field name (as found in error details or reason text) → canonical applicant path.
 * Tolerates prefixes such as `body.source_of_funds` or `missing_fields:source_of_funds`, and paths
 * into a tax id entry such as `identifying_information.0.number` (→ `taxIds`).
 */
export function kiraFieldToCanonical(name: string): string | undefined {
  const key = name.trim().toLowerCase();
  const direct = RESPONSE_ALIASES[key] ?? BY_KIRA.get(key)?.path;
  if (direct) return direct;
  const parts = key.split(/[.:/]/).filter((s) => s.length > 0);
  const inTaxIds = parts.indexOf('identifying_information');
  if (inTaxIds >= 0) {
    // Only the tax id entry's own keys: `identifying_information:file_proof_of_address` names a
    // document we have no applicant field for, not a tax id.
    const rest = parts.slice(inTaxIds + 1);
    return rest.every((p) => /^\d+$/.test(p) || TAX_ID_ENTRY_KEYS.has(p)) ? 'taxIds' : undefined;
  }
  const last = parts.at(-1);
  return last && last !== key ? BY_KIRA.get(last)?.path : undefined;
}

/**
 * Kira fields that carry a canonical path or anything below it: `address` → every `address_*`,
 * `identityDocument.number` → `document_number`.
 */
export function kiraFieldsFor(path: string): KiraField[] {
  return KIRA_FIELDS.filter((x) => x.path === path || x.path.startsWith(`${path}.`));
}

/** The value Kira should receive for one field, or undefined (absent or not mappable). */
export function kiraValue(a: Applicant, field: KiraField): KiraValue | undefined {
  const v = getField(a, field.path);
  if (v === undefined || v === null || v === '') return undefined;
  switch (field.convert) {
    case 'same':
      return typeof v === 'string' || typeof v === 'boolean' ? v : undefined;
    case 'iso3':
      return typeof v === 'string' ? toIso3(v) : undefined;
    case 'firstIso3':
      return Array.isArray(v) && typeof v[0] === 'string' ? toIso3(v[0]) : undefined;
    case 'street': {
      // Kira has one street field: a second address line goes into it rather than being lost.
      const line2 = a.address?.line2?.trim();
      return typeof v === 'string' ? (line2 ? `${v}, ${line2}` : v) : undefined;
    }
    case 'taxIds':
      return Array.isArray(v) ? taxIdEntries(v) : undefined;
    case 'language': {
      // Primary subtag only: `es-MX` is sent as `es`.
      const lang = typeof v === 'string' ? (v.toLowerCase().split(/[-_]/)[0] ?? '') : '';
      return KIRA_LANGUAGES.includes(lang) ? lang : undefined;
    }
  }
}

/**
 * Every tax id as an `identifying_information` entry: `ssn` for a US one, `tax_id` otherwise
 * (§2.4). Undefined when there is none, or when one has a country without an ISO-3 code (preflight
 * reports it; a partial list would silently drop a tax residency).
 */
function taxIdEntries(list: unknown[]): KiraTaxIdEntry[] | undefined {
  const out: KiraTaxIdEntry[] = [];
  for (const item of list) {
    if (item === null || typeof item !== 'object') return undefined;
    const { id, country } = item as { id?: unknown; country?: unknown };
    if (typeof id !== 'string' || id.length === 0 || typeof country !== 'string') return undefined;
    const iso3 = toIso3(country);
    if (iso3 === undefined) return undefined;
    out.push({ type: iso3 === 'USA' ? 'ssn' : 'tax_id', issuing_country: iso3, number: id });
  }
  return out.length > 0 ? out : undefined;
}

/** A Kira field named in free text (reason text), as a canonical path. */
export function findKiraFieldInText(text: string): string | undefined {
  for (const token of text.match(/[a-z][a-z0-9_.:]*/gi) ?? []) {
    const path = kiraFieldToCanonical(token.replace(/[.:]+$/, ''));
    if (path) return path;
  }
  return undefined;
}
