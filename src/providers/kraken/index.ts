export { createKrakenAdapter, KRAKEN_RATE_LIMIT, type KrakenAdapterDeps } from './adapter.js';
export {
  createKrakenClient,
  KRAKEN_API_VERSION,
  userPath,
  verificationPath,
  type KrakenClient,
  type KrakenClientDeps,
} from './client.js';
export {
  changedFields,
  createMemoryLedger,
  digestFields,
  type FieldDigests,
  type KrakenLedger,
} from './ledger.js';
export { fieldsToPatch, remediateKraken } from './remediate.js';
export { submitVerification, updateKrakenUser, type KrakenEnv } from './submit.js';
export {
  buildVerificationForm,
  buildVerificationMetadata,
  encodeForm,
  VERIFICATION_TYPE,
} from './verification.js';
export { isKrakenCountry, KRAKEN_COUNTRIES } from './countries.js';
export { krakenFieldToCanonical, KRAKEN_OCCUPATIONS, KRAKEN_PHONE } from './fields.js';
export { clockNonce, createLocalNonceSource, type KrakenNonceSource } from './nonce.js';
export { buildCreatePayload, buildUpdatablePayload, buildUpdatePayload } from './payload.js';
export { preflightKraken } from './preflight.js';
export { mapKrakenStatus, type KrakenStatusMapping, type KrakenUserStatus } from './status.js';
export { signKrakenRequest, signKrakenWebhook } from './signature.js';
export {
  normaliseTimestamp,
  parseKrakenWebhook,
  verifyKrakenSignature,
  WEBHOOK_TOLERANCE_S,
} from './webhook.js';
