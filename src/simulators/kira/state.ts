/**
 * The simulator's in-memory state: users, access tokens, idempotency records, and the request and
 * delivery logs that tests assert on. No behaviour lives here beyond bookkeeping.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../../lib/clock.js';
import type { DeliveryRecord, RecordedRequest, SimUser } from './types.js';

export interface StoredResponse {
  status: number;
  body: unknown;
}

interface IdempotencyRecord {
  fingerprint: string;
  response: StoredResponse;
}

export interface KiraState {
  readonly users: Map<string, SimUser>;
  newUser(init: Pick<SimUser, 'externalId' | 'fields'>): SimUser;
  touch(user: SimUser): void;
  issueToken(apiKey: string, ttlSeconds: number): string;
  /** 'ok', or why the token is refused. */
  checkToken(token: string, apiKey: string): 'ok' | 'invalid' | 'expired';
  idempotency(key: string): IdempotencyRecord | undefined;
  remember(key: string, fingerprint: string, response: StoredResponse): void;
  readonly requests: RecordedRequest[];
  readonly deliveries: DeliveryRecord[];
  nowIso(): string;
}

export function createKiraState(clock: Clock): KiraState {
  const users = new Map<string, SimUser>();
  const tokens = new Map<string, { apiKey: string; expiresAt: number }>();
  const keys = new Map<string, IdempotencyRecord>();
  const nowIso = (): string => clock.now().toISOString();
  return {
    users,
    newUser(init) {
      const at = nowIso();
      const user: SimUser = {
        userId: randomUUID(),
        seq: users.size + 1,
        externalId: init.externalId,
        status: 'CREATED',
        verificationStatus: 'unverified',
        fields: init.fields,
        verificationAttempts: 0,
        lastReasons: [],
        createdAt: at,
        updatedAt: at,
      };
      users.set(user.userId, user);
      return user;
    },
    touch(user) {
      user.updatedAt = nowIso();
    },
    issueToken(apiKey, ttlSeconds) {
      const token = randomBytes(32).toString('base64url');
      tokens.set(token, { apiKey, expiresAt: clock.now().getTime() + ttlSeconds * 1000 });
      return token;
    },
    checkToken(token, apiKey) {
      const t = tokens.get(token);
      if (!t || t.apiKey !== apiKey) return 'invalid';
      if (clock.now().getTime() >= t.expiresAt) return 'expired';
      return 'ok';
    },
    idempotency: (key) => keys.get(key),
    remember(key, fingerprint, response) {
      keys.set(key, { fingerprint, response });
    },
    requests: [],
    deliveries: [],
    nowIso,
  };
}

/** Stable JSON (sorted keys) so that key order does not make two equal bodies differ. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
