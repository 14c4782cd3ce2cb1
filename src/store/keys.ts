/**
 * Redis key layout of the case store. Every key starts with the configured prefix (default
 * `{kyc}`), whose hash tag keeps all keys of one deployment in one Redis Cluster slot, so the
 * multi-key Lua scripts below work on a cluster too.
 */
import type { CaseStatus, ProviderId } from '../kyc/types.js';

export interface StoreKeys {
  case(id: string): string;
  timeline(id: string): string;
  applied(id: string): string;
  byExternalId(provider: ProviderId, externalId: string): string;
  byProviderUser(provider: ProviderId, providerUserId: string): string;
  status(s: CaseStatus): string;
  all(): string;
  unusableWebhooks(): string;
  unmatchedEvents(): string;
  reconcile(): string;
  /** Partner notifications: the case's outbox list (oldest first), written with its transition. */
  outbox(id: string): string;
  /** Set of case ids whose outbox has notifications waiting (not dead-lettered). */
  outboxPending(): string;
  /** Where the reconcile tick's sweep of `outboxPending` resumes (an SSCAN cursor). */
  outboxSweepCursor(): string;
  /**
   * Dead-lettered cases: zset case id → time (ms) its notifications were given up on. Not under
   * `notifications:`, which is the BullMQ queue's own namespace (obliterate would delete it).
   */
  notificationDlq(): string;
  /** Hash case id → JSON `{ lastError, failingSince }` of a dead-lettered case. */
  notificationDlqInfo(): string;
  /** Hash case id → time (ms) the head of its outbox first failed; cleared on each delivery. */
  notificationFailing(): string;
}

export function storeKeys(prefix: string): StoreKeys {
  const p = `${prefix}:`;
  return {
    case: (id) => `${p}case:${id}`,
    timeline: (id) => `${p}case:${id}:tl`,
    applied: (id) => `${p}case:${id}:in`,
    byExternalId: (provider, ext) => `${p}ext:${provider}:${ext}`,
    byProviderUser: (provider, uid) => `${p}puser:${provider}:${uid}`,
    status: (s) => `${p}status:${s}`,
    all: () => `${p}cases`,
    unusableWebhooks: () => `${p}webhooks:unusable`,
    unmatchedEvents: () => `${p}events:unmatched`,
    reconcile: () => `${p}reconcile:due`,
    outbox: (id) => `${p}case:${id}:outbox`,
    outboxPending: () => `${p}outbox:pending`,
    outboxSweepCursor: () => `${p}outbox:sweep-cursor`,
    notificationDlq: () => `${p}outbox:dlq`,
    notificationDlqInfo: () => `${p}outbox:dlq-info`,
    notificationFailing: () => `${p}outbox:failing`,
  };
}
