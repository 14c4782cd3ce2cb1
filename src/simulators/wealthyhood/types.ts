/**
 * Public types of the Wealthyhood simulator (PROVIDERS.md §3 and §5 rules 17–18).
 */
import type { Clock } from '../../lib/clock.js';
import type { SimFaults } from '../shared/faults.js';

export type WealthyhoodSchema = 'v1' | 'v2';
export type KycStatus = 'pending' | 'passed' | 'failed';

export interface WealthyhoodSimulatorOptions {
  clientId: string;
  clientSecret: string;
  /** The API audience the token request must name. */
  audience: string;
  /** Which create-user page to reproduce (default v2). */
  schema?: WealthyhoodSchema;
  /** `expires_in` of issued tokens; default 3600 (the documented example). */
  tokenTtlSeconds?: number;
  /** Scopes the client grant allows; default `read:users write:users`. */
  grantedScopes?: string[];
  /** Status of the "email already exists" answer ([INF] 409 or 400); default 409. */
  duplicateEmail?: 409 | 400;
  /** Whether the inferred `GET /users?email=` lookup exists; default true (404 when false). */
  emailLookup?: boolean;
  /** Delay from create to the `kycStatus` decision; default 1500 ms. */
  decisionDelayMs?: number;
  faults?: Partial<SimFaults>;
  /** Rate limits are [UNKNOWN]: off by default; a token bucket per client when set. */
  rateLimit?: { perSecond: number; burst: number } | false;
  clock?: Clock;
  random?: () => number;
  /** Default 0 (any free port) on 127.0.0.1. */
  port?: number;
  host?: string;
  logger?: { warn(obj: object, msg?: string): void };
}

/** A snapshot of one user as the simulator holds it. */
export interface SimUser {
  /** 24-hex ObjectId. */
  id: string;
  /** 1-based creation order. */
  seq: number;
  /** The validated create body (plus employment info written by PATCH). */
  body: Record<string, unknown>;
  kycStatus: KycStatus;
  /** Set when `kycStatus` is `failed`; exposed by GET as `kycFailureReasons` ([INF]). */
  kycFailureReasons: string[];
  emailVerified: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Raw query string without `?`, when there was one. */
  query?: string;
  /** The `x-user-id` header, when sent. */
  userId?: string;
  /** HTTP status; 'pending' while in flight; 'timeout' when the simulator chose never to answer. */
  status: number | 'pending' | 'timeout';
  at: string;
}

export interface WealthyhoodSimulator {
  /** `http://127.0.0.1:<port>`; serves both the API and the Auth0 `/oauth/token` endpoint. */
  url: string;
  /** Stops the server and every pending decision timer. */
  close(): Promise<void>;
  setFaults(f: Partial<SimFaults>): void;
  /** Makes every token issued so far expired (as if its `expires_in` had run out). */
  expireTokens(): void;
  users(): SimUser[];
  requests(): RecordedRequest[];
  /** Resolves when no decision timer is pending. */
  idle(): Promise<void>;
}
