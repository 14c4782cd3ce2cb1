/**
 * Signed Kira `user.verification.failed` webhooks (~400 bytes, a unique `data.event_id` each),
 * signed as Kira signs them (PROVIDERS.md §2.7): hex HMAC-SHA256 of the raw body, secret as UTF-8.
 */
import { signKiraBody } from '../../src/simulators/kira/index.js';

export function kiraFailedBody(eventId: string): string {
  return JSON.stringify({
    event: 'user.verification.failed',
    data: {
      event_id: eventId,
      user_id: 'usr_3f9a1c2e-7b4d-4e8a-9c1f-2d6b8e0a4f7c',
      verification_status: 'rejected',
      previous_status: 'VERIFYING',
      reasons: ['Verification session expired', 'Identity document expired'],
      person_reference_id: null,
      occurred_at: '2026-04-14T10:00:00.000Z',
      attempt: 1,
      environment: 'sandbox',
    },
  });
}

export function signedKiraRequest(eventId: string, secret: string): { body: string; headers: Record<string, string> } {
  const body = kiraFailedBody(eventId);
  return { body, headers: { 'content-type': 'application/json', 'x-signature-sha256': signKiraBody(body, secret) } };
}
