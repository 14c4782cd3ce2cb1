/**
 * Wealthyhood `kycStatus` → our outcome. The one place that decides it (PROVIDERS.md §5 rule 20):
 * `passed` and `failed` are terminal; `pending` and any value we do not know keep polling.
 */
import type { ProviderOutcome } from '../../kyc/types.js';

export interface WealthyhoodStatusMapping {
  /** Lower-cased `kycStatus`. */
  providerStatus: string;
  outcome: ProviderOutcome;
  terminal: boolean;
}

export function mapKycStatus(kycStatus: string): WealthyhoodStatusMapping {
  const providerStatus = kycStatus.trim().toLowerCase();
  switch (providerStatus) {
    case 'passed':
      return { providerStatus, outcome: 'verified', terminal: true };
    case 'failed':
      return { providerStatus, outcome: 'rejected', terminal: true };
    default:
      return { providerStatus, outcome: 'pending', terminal: false };
  }
}
