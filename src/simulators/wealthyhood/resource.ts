/**
 * The user object as the simulator answers it. Create follows the captured response of the
 * configured page: the older one adds `emailVerified` and `kycStatus`; the newer one has
 * `portfolios[]`, `language`, `nationalities[]`, `employmentInfo` and no `kycStatus`. GET user
 * and the email lookup (both [INF]) add `kycStatus` in both versions, and `kycFailureReasons`
 * once failed.
 */
import type { SimUser, WealthyhoodSchema } from './types.js';

const COMMON = [
  'email',
  'firstName',
  'lastName',
  'dateOfBirth',
  'residencyCountry',
  'address',
  'taxResidency',
] as const;

export function toResource(
  u: SimUser,
  schema: WealthyhoodSchema,
  view: 'create' | 'get',
): Record<string, unknown> {
  const b = u.body;
  const out: Record<string, unknown> = { id: u.id };
  for (const k of COMMON) if (b[k] !== undefined) out[k] = b[k];
  out.portfolios = [];
  if (schema === 'v1') {
    out.emailVerified = u.emailVerified;
    out.kycStatus = u.kycStatus;
  } else {
    if (b.language !== undefined) out.language = b.language;
    if (typeof b.nationality === 'string') out.nationalities = [b.nationality];
    if (b.employmentInfo !== undefined) out.employmentInfo = b.employmentInfo;
    if (view === 'get') out.kycStatus = u.kycStatus;
  }
  if (view === 'get' && u.kycStatus === 'failed') out.kycFailureReasons = [...u.kycFailureReasons];
  out.createdAt = u.createdAt;
  out.updatedAt = u.updatedAt;
  return out;
}
