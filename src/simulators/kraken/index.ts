/**
 * The Kraken Embed provider simulator: a real HTTP server reproducing Kraken's request signing and
 * nonce rules, body validation, IIBANs, `required_actions`, and signed webhooks with retries
 * (PROVIDERS.md §1, §5 rules 1–7), with the same fault switches as the Kira simulator. Used by
 * `npm start` in simulated mode, by the tests and the benchmarks.
 */
export { parseSimFaults, type SimFaults } from '../shared/faults.js';
export { startKrakenSimulator } from './server.js';
export { API_VERSION as KRAKEN_SIM_API_VERSION } from './gateway.js';
export { REASONS as KRAKEN_SIM_REASONS, decide as decideKrakenOutcome } from './outcomes.js';
export { signKrakenWebhookBody } from './webhooks.js';
export type {
  AuthFailure,
  DeliveryRecord,
  KrakenSimulator,
  KrakenSimulatorOptions,
  KrakenSimUser,
  KrakenUserState,
  KrakenWebhookEvent,
  RecordedRequest,
  RequiredAction,
  SimOutcome,
} from './types.js';
