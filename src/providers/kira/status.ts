/**
 * Kira user status → our outcome. The one place that decides it. Gate on `status` only:
 * `verification_status` is advisory and can contradict it (PROVIDERS.md §2.6), so it is never read.
 */
import type { ProviderOutcome } from '../../kyc/types.js';

export interface KiraStatusMapping {
  /** Upper-cased Kira status (user.* statuses are upper case; compare case-insensitively). */
  providerStatus: string;
  outcome: ProviderOutcome;
  terminal: boolean;
}

/**
 * VERIFIED → verified (terminal); REJECTED → rejected (terminal; stays until a re-issue);
 * everything else (CREATED, VERIFYING, REVIEW, ACTIVE, unknown values) → pending.
 */
export function mapKiraStatus(status: string): KiraStatusMapping {
  const providerStatus = status.trim().toUpperCase();
  switch (providerStatus) {
    case 'VERIFIED':
      return { providerStatus, outcome: 'verified', terminal: true };
    case 'REJECTED':
      return { providerStatus, outcome: 'rejected', terminal: true };
    default:
      return { providerStatus, outcome: 'pending', terminal: false };
  }
}
