export {
  createWealthyhoodAdapter,
  NO_RETRY_FLOW,
  OBJECT_ID,
  type WealthyhoodAdapterDeps,
} from './adapter.js';
export { tokenUrl } from './client.js';
export {
  SCHEMA_VERSIONS,
  WEALTHYHOOD_FIELDS,
  wealthyhoodFieldToCanonical,
  type SchemaVersion,
} from './fields.js';
export * as wealthyhoodInferred from './inferred.js';
export { buildCreatePayload } from './payload.js';
export { preflightWealthyhood } from './preflight.js';
export { mapKycStatus } from './status.js';
