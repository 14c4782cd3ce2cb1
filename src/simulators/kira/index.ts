/**
 * The Kira provider simulator: a real HTTP server reproducing Kira's auth, idempotency,
 * validation errors, status model and webhook delivery (PROVIDERS.md §2, §5 rules 8–16), with
 * switches for faults. Used by `npm start` in simulated mode, by the tests and the benchmarks.
 */
export { parseSimFaults, type SimFaults } from '../shared/faults.js';
export { startKiraSimulator } from './server.js';
export { signKiraBody } from './webhooks.js';
export { ACCOUNT_PURPOSES, SOURCES_OF_FUNDS } from './validation.js';
export { REASONS as KIRA_SIM_REASONS } from './outcomes.js';
export type {
  DeliveryRecord,
  KiraSimulator,
  KiraSimulatorOptions,
  KiraUserStatus,
  KiraVerificationStatus,
  KiraWebhookEvent,
  RecordedRequest,
  SimUser,
} from './types.js';
