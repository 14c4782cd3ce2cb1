/**
 * The Kraken Embed provider simulator: a real HTTP server reproducing Kraken's request signing and
 * nonce rules, body validation, IIBANs, verification submissions that drive `required_actions`,
 * webhook registrations (enabled flag, subscriptions) and signed webhooks with retries
 * (PROVIDERS.md §1, §5 rules 1–7), with the Kira simulator's fault switches plus a 408 switch.
 * Used by `npm start` in simulated mode, by the tests and the benchmarks.
 */
export { parseSimFaults, type SimFaults } from '../shared/faults.js';
export { startKrakenSimulator } from './server.js';
export { API_VERSION as KRAKEN_SIM_API_VERSION } from './gateway.js';
export {
  REASONS as KRAKEN_SIM_REASONS,
  OUTCOME_TABLE as KRAKEN_SIM_OUTCOMES,
  decide as decideKrakenOutcome,
} from './outcomes.js';
export { signKrakenWebhookBody } from './webhooks.js';
export type {
  AuthFailure,
  DeliveryRecord,
  KrakenFaults,
  KrakenSimulator,
  KrakenSimulatorOptions,
  KrakenSimUser,
  KrakenSimVerification,
  KrakenUserState,
  KrakenWebhookEvent,
  KrakenWebhookRegistration,
  RecordedRequest,
  RequiredAction,
  SimOutcome,
} from './types.js';
