/**
 * Canonical applicant → Kira's snake_case user payload (`POST /v1/users`, `PUT /v1/users/{id}`):
 * flat fields plus the `identifying_information[]` list (fields.ts decides which keys exist).
 * Undefined values are omitted; countries go out as ISO-3.
 */
import type { Applicant } from '../../kyc/applicant.js';
import { KIRA_FIELDS, kiraValue, type KiraField, type KiraValue } from './fields.js';

export type KiraPayload = Record<string, KiraValue>;

/** The create body: `type: individual` plus every field the applicant has. */
export function buildCreatePayload(a: Applicant): KiraPayload {
  return { type: 'individual', ...pick(a, KIRA_FIELDS) };
}

/**
 * A partial update body with only `fields` (that have a value). Create-only fields (`type`,
 * `external_id`) are never included: Kira answers 400 to them in a PUT.
 */
export function buildUpdatePayload(a: Applicant, fields: readonly KiraField[]): KiraPayload {
  return pick(
    a,
    fields.filter((x) => !x.createOnly),
  );
}

function pick(a: Applicant, fields: readonly KiraField[]): KiraPayload {
  const out: KiraPayload = {};
  for (const field of fields) {
    const v = kiraValue(a, field);
    if (v !== undefined) out[field.kira] = v;
  }
  return out;
}
