/**
 * Canonical applicant → Kraken Embed request bodies. Nested objects (`full_name`, `residence`) are
 * built from their leaf fields; absent values are omitted, never sent as null.
 */
import type { Applicant } from '../../kyc/applicant.js';
import {
  KRAKEN_FIELDS,
  krakenValue,
  topLevel,
  type KrakenField,
  type KrakenValue,
} from './fields.js';

export type KrakenPayload = Record<string, KrakenValue | Record<string, KrakenValue>>;

function build(a: Applicant, fields: readonly KrakenField[]): KrakenPayload {
  const out: KrakenPayload = {};
  for (const field of fields) {
    const v = krakenValue(a, field);
    if (v === undefined) continue;
    const [top, leaf] = field.kraken.split('.') as [string, string | undefined];
    if (leaf === undefined) {
      out[top] = v;
      continue;
    }
    const obj = (out[top] ??= {}) as Record<string, KrakenValue>;
    obj[leaf] = v;
  }
  return out;
}

/** `POST /b2b/users`: every field we have; `external_id` is our externalId (the dedupe key). */
export function buildCreatePayload(a: Applicant): KrakenPayload {
  return build(a, KRAKEN_FIELDS);
}

/** Every field `PATCH /b2b/users/{user}` takes that the applicant has: what Kraken should hold. */
export function buildUpdatablePayload(a: Applicant): KrakenPayload {
  return build(
    a,
    KRAKEN_FIELDS.filter((x) => !x.createOnly),
  );
}

/**
 * `PATCH /b2b/users/{user}` with only the top-level fields named: a nested object is sent whole
 * (whether Kraken merges nested objects on PATCH is [UNKNOWN], so we never send half of one).
 */
export function buildUpdatePayload(a: Applicant, topLevelNames: readonly string[]): KrakenPayload {
  const wanted = new Set(topLevelNames);
  return build(
    a,
    KRAKEN_FIELDS.filter((x) => !x.createOnly && wanted.has(topLevel(x))),
  );
}
