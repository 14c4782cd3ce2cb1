/**
 * The user as `GET /b2b/users/{user}` returns it (PROVIDERS.md §1.4): `status.state`,
 * `status.required_actions[]` (reasons, deadline) and, when disabled or closed, `status.reasons[]`
 * (a Go SDK field). No profile fields: the documented example shows none.
 */
import type { KrakenSimUser } from './types.js';

export function toResource(u: KrakenSimUser): { result: Record<string, unknown> } {
  return {
    result: {
      user: u.iiban,
      user_type: 'individual',
      status: {
        state: u.state,
        required_actions: u.requiredActions.map((a) => ({ ...a, reasons: [...a.reasons] })),
        ...(u.statusReasons.length > 0 ? { reasons: [...u.statusReasons] } : {}),
      },
      created_at: u.createdAt,
      external_id: u.externalId,
    },
  };
}
