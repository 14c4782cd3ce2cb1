export { createKiraAdapter, type KiraAdapterDeps } from './adapter.js';
export { KIRA_API_VERSION } from './client.js';
export { kiraFieldToCanonical } from './fields.js';
export { KIRA_ACCOUNT_PURPOSES, KIRA_SOURCE_OF_FUNDS } from './preflight.js';
export { mapKiraStatus } from './status.js';
