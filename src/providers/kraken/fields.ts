/**
 * The one table between Kraken Embed's user fields (`POST /b2b/users`, `PATCH /b2b/users/{user}`,
 * seeds/kraken-embed-*.txt) and our canonical applicant paths. Payloads, preflight, remediation and
 * the aliasing of Kraken field names in errors and reasons all read it.
 */
import { getField, type Applicant } from '../../kyc/applicant.js';

/** `occupation`: exactly these 19 values (seed enum). */
export const KRAKEN_OCCUPATIONS: readonly string[] = [
  'agriculture',
  'business_management',
  'computers_and_it',
  'construction',
  'education',
  'finance',
  'government',
  'healthcare',
  'hospitality',
  'manufacturing',
  'marketing',
  'media',
  'other',
  'science',
  'self_employed',
  'student',
  'transportation',
  'unemployed',
  'employed',
];

/** The seed's phone pattern (E.164, `+` optional). */
export const KRAKEN_PHONE = /^\+?[1-9]\d{1,14}$/;
export const INT32_MAX = 2_147_483_647;

type Convert = 'same' | 'int' | 'list' | 'taxIds' | 'occupation' | 'language';

export interface KrakenField {
  /** Kraken's name, dotted below a top-level object: `residence.postal_code`. */
  readonly kraken: string;
  /** Canonical applicant path. */
  readonly path: string;
  /** Required by `POST /b2b/users` (seed); inner required fields of objects are [INF]. */
  readonly required: boolean;
  readonly convert: Convert;
  /** Create only: not a field of `PATCH /b2b/users/{user}`. */
  readonly createOnly?: boolean;
}

const f = (
  kraken: string,
  path: string,
  required: boolean,
  convert: Convert = 'same',
): KrakenField => ({
  kraken,
  path,
  required,
  convert,
});

export const KRAKEN_FIELDS: readonly KrakenField[] = [
  { ...f('email', 'email', true), createOnly: true },
  { ...f('external_id', 'externalId', true), createOnly: true },
  f('tos_version_accepted', 'tosVersionAccepted', true, 'int'),
  f('full_name.first_name', 'firstName', true),
  f('full_name.last_name', 'lastName', true),
  f('full_name.middle_name', 'middleName', false),
  f('date_of_birth', 'dateOfBirth', true),
  f('residence.line1', 'address.line1', true),
  f('residence.line2', 'address.line2', false),
  f('residence.city', 'address.city', true),
  f('residence.postal_code', 'address.postalCode', true),
  f('residence.province', 'address.region', false),
  f('residence.country', 'address.country', true),
  f('phone', 'phone', true),
  f('nationalities', 'nationalities', true, 'list'),
  f('occupation', 'occupation', true, 'occupation'),
  f('employer_name', 'employerName', false),
  f('city_of_birth', 'cityOfBirth', false),
  f('country_of_birth', 'countryOfBirth', false),
  f('tax_ids', 'taxIds', false, 'taxIds'),
  f('language', 'language', false, 'language'),
];

/** Top-level Kraken name of a field: `residence.city` → `residence`. */
export function topLevel(field: KrakenField): string {
  return field.kraken.split('.')[0]!;
}

/** `Computers and IT` → `computers_and_it` when that is one of the enum values. */
export function normalizeOccupation(v: string): string | undefined {
  const key = v
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  return KRAKEN_OCCUPATIONS.includes(key) ? key : undefined;
}

export type KrakenValue = string | number | string[] | { id: string; issuing_country: string }[];

/** The value Kraken should receive for one field, or undefined (absent or not mappable). */
export function krakenValue(a: Applicant, field: KrakenField): KrakenValue | undefined {
  const v = getField(a, field.path);
  if (v === undefined || v === null || v === '') return undefined;
  switch (field.convert) {
    case 'same':
      return typeof v === 'string' ? v : undefined;
    case 'int':
      return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
    case 'list':
      return Array.isArray(v) && v.length > 0 ? v.map(String) : undefined;
    case 'taxIds':
      return Array.isArray(v) && v.length > 0
        ? (v as { id: string; country: string }[]).map((t) => ({
            id: t.id,
            issuing_country: t.country,
          }))
        : undefined;
    case 'occupation':
      return typeof v === 'string' ? normalizeOccupation(v) : undefined;
    case 'language': {
      // "ISO 639-1 language code": the primary subtag of `en-GB`.
      const lang = typeof v === 'string' ? (v.toLowerCase().split(/[-_]/)[0] ?? '') : '';
      return /^[a-z]{2}$/.test(lang) ? lang : undefined;
    }
  }
}

const BY_KRAKEN = new Map(KRAKEN_FIELDS.map((x) => [x.kraken, x]));
/** Top-level objects that stand for a canonical object. */
const GROUPS: Readonly<Record<string, string>> = { residence: 'address' };

/**
 * A Kraken field name from an error or reason (`residence.postal_code`, `tax_ids[0].id`,
 * `body.phone`) → canonical applicant path, or undefined when it names nothing we map.
 */
export function krakenFieldToCanonical(name: string): string | undefined {
  const parts = name
    .trim()
    .toLowerCase()
    .replace(/\[(\d+)\]/g, '.$1')
    .split(/[.:/]/)
    .filter((p) => p.length > 0 && !/^\d+$/.test(p));
  // Longest suffix first, so `body.residence.city` finds `residence.city`.
  for (let i = 0; i < parts.length; i += 1) {
    const key = parts.slice(i).join('.');
    const hit = BY_KRAKEN.get(key)?.path ?? GROUPS[key];
    if (hit) return hit;
    if (key === 'tax_ids.id' || key === 'tax_ids.issuing_country') return 'taxIds';
  }
  return undefined;
}

/** Kraken fields that carry a canonical path, anything below it, or anything above it. */
export function krakenFieldsFor(path: string): KrakenField[] {
  return KRAKEN_FIELDS.filter(
    (x) => x.path === path || x.path.startsWith(`${path}.`) || path.startsWith(`${x.path}.`),
  );
}

/** A Kraken field named anywhere in free text (reason codes such as `missing_field: tax_ids`). */
export function findKrakenFieldInText(text: string): string | undefined {
  for (const token of text.match(/[a-z][a-z0-9_.[\]]*/gi) ?? []) {
    const path = krakenFieldToCanonical(token.replace(/[.:]+$/, ''));
    if (path) return path;
  }
  return undefined;
}

const CANONICAL = new Set([...KRAKEN_FIELDS.map((x) => x.path), 'address']);
export function isKrakenCanonicalPath(path: string): boolean {
  return CANONICAL.has(path);
}
