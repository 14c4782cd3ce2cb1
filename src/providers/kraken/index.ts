export {
  createKrakenAdapter,
  KRAKEN_RATE_LIMIT,
  remediationFields,
  updateKrakenUser,
  type KrakenAdapterDeps,
} from './adapter.js';
export {
  createKrakenClient,
  KRAKEN_API_VERSION,
  userPath,
  type KrakenClient,
  type KrakenClientDeps,
} from './client.js';
export { isKrakenCountry, KRAKEN_COUNTRIES } from './countries.js';
export { krakenFieldToCanonical, KRAKEN_OCCUPATIONS, KRAKEN_PHONE } from './fields.js';
export { clockNonce, createLocalNonceSource, type KrakenNonceSource } from './nonce.js';
export { buildCreatePayload, buildUpdatePayload } from './payload.js';
export { preflightKraken } from './preflight.js';
export { mapKrakenStatus, type KrakenStatusMapping, type KrakenUserStatus } from './status.js';
export { signKrakenRequest, signKrakenWebhook } from './signature.js';
export {
  normaliseTimestamp,
  parseKrakenWebhook,
  verifyKrakenSignature,
  WEBHOOK_TOLERANCE_S,
} from './webhook.js';
