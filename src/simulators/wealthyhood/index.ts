/**
 * The Wealthyhood provider simulator: a real HTTP server reproducing the Auth0 token endpoint with
 * scopes, `POST /users` validation per schema version with field-level errors, ObjectIds, duplicate
 * email, and `kycStatus` progression learnt by polling (PROVIDERS.md §3, §5 rules 17–18), with the
 * same fault switches as the other simulators. Behaviour the docs do not state is marked [INF] and
 * mirrors `src/providers/wealthyhood/inferred.ts`. Used by `npm start` in simulated mode and tests.
 */
export { parseSimFaults, type SimFaults } from '../shared/faults.js';
export { DEFAULT_SCOPES } from './context.js';
export {
  REASONS as WEALTHYHOOD_SIM_REASONS,
  decide as decideWealthyhoodOutcome,
} from './outcomes.js';
export { startWealthyhoodSimulator } from './server.js';
export { sampleWealthyhoodApplicant } from './sample.js';
export { createObjectIdFactory } from './state.js';
export type {
  KycStatus,
  RecordedRequest,
  SimUser,
  WealthyhoodSchema,
  WealthyhoodSimulator,
  WealthyhoodSimulatorOptions,
} from './types.js';
