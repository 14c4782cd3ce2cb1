/**
 * The user resource as `GET /v1/users/{id}` returns it: snake_case, address renamed into
 * `residential_address` (request and response names differ at Kira), and never any rejection
 * reason. `eligible_products` / `missing_fields` stay empty/null until a verification has finished.
 */
import { missingRequired } from './outcomes.js';
import type { SimUser } from './types.js';

const FLAT_FIELDS = [
  'first_name',
  'last_name',
  'email',
  'phone',
  'birth_date',
  'gender',
  'language',
  'nationality',
  'document_type',
  'document_number',
  'document_country',
  'identifying_information',
  'source_of_funds',
  'account_purpose',
  'employment_status',
  'occupation',
  'pep_status',
] as const;

export function toResource(u: SimUser): Record<string, unknown> {
  const f = u.fields;
  const get = (k: string): unknown => f[k] ?? null;
  const decided = u.status === 'VERIFIED' || u.status === 'REJECTED';
  return {
    user_id: u.userId,
    external_id: u.externalId,
    type: f.type ?? 'individual',
    status: u.status,
    verification_status: u.verificationStatus,
    verification_mode: f.verification_mode ?? 'automatic',
    ...Object.fromEntries(FLAT_FIELDS.map((k) => [k, get(k)])),
    residential_address: {
      street_line_1: get('address_street'),
      city: get('address_city'),
      subdivision: get('address_state'),
      postal_code: get('address_zip_code'),
      country: get('address_country'),
    },
    eligible_products: decided
      ? [{ product: 'virtual_account', eligible: u.status === 'VERIFIED' }]
      : [],
    missing_fields: decided ? missingRequired(f) : null,
    created_at: u.createdAt,
    updated_at: u.updatedAt,
  };
}
