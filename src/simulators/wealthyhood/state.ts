/**
 * The simulator's in-memory state: users (by ObjectId and by email), access tokens, and the
 * request log tests assert on. No behaviour beyond bookkeeping.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../lib/clock.js';
import type { RecordedRequest, SimUser } from './types.js';

export interface IssuedToken {
  scopes: string[];
  expiresAt: number;
}

export interface WealthyhoodState {
  readonly users: Map<string, SimUser>;
  findByEmail(email: string): SimUser | undefined;
  newUser(body: Record<string, unknown>): SimUser;
  touch(user: SimUser): void;
  issueToken(t: {
    clientId: string;
    audience: string;
    scopes: string[];
    ttlSeconds: number;
  }): string;
  /** The token's grant, or why it is refused. */
  checkToken(token: string): IssuedToken | 'invalid' | 'expired';
  expireTokens(): void;
  readonly requests: RecordedRequest[];
  nowIso(): string;
}

/** MongoDB-style ObjectId: 4-byte seconds timestamp, 5 random bytes, 3-byte counter (24 hex). */
export function createObjectIdFactory(clock: Clock): () => string {
  const processPart = randomBytes(5).toString('hex');
  let counter = randomBytes(3).readUIntBE(0, 3);
  return () => {
    counter = (counter + 1) % 0x1000000;
    const secs = Math.floor(clock.now().getTime() / 1000) >>> 0;
    return `${secs.toString(16).padStart(8, '0')}${processPart}${counter.toString(16).padStart(6, '0')}`;
  };
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

export function createWealthyhoodState(clock: Clock): WealthyhoodState {
  const users = new Map<string, SimUser>();
  const byEmail = new Map<string, string>();
  const tokens = new Map<string, IssuedToken>();
  const objectId = createObjectIdFactory(clock);
  const nowIso = (): string => clock.now().toISOString();
  return {
    users,
    findByEmail(email) {
      const id = byEmail.get(email.toLowerCase());
      return id === undefined ? undefined : users.get(id);
    },
    newUser(body) {
      const at = nowIso();
      const user: SimUser = {
        id: objectId(),
        seq: users.size + 1,
        body,
        kycStatus: 'pending',
        kycFailureReasons: [],
        emailVerified: false,
        createdAt: at,
        updatedAt: at,
      };
      users.set(user.id, user);
      byEmail.set(String(body.email).toLowerCase(), user.id);
      return user;
    },
    touch(user) {
      user.updatedAt = nowIso();
    },
    issueToken(t) {
      // JWT-shaped like Auth0's (RS256 header, claims), but opaque to the simulator: it is looked up.
      const iat = Math.floor(clock.now().getTime() / 1000);
      const claims = {
        iss: 'https://wealthyhood-simulator.auth0.test/',
        sub: `${t.clientId}@clients`,
        aud: t.audience,
        iat,
        exp: iat + t.ttlSeconds,
        scope: t.scopes.join(' '),
        gty: 'client-credentials',
      };
      const token = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}.${randomBytes(32).toString('base64url')}`;
      tokens.set(token, {
        scopes: t.scopes,
        expiresAt: clock.now().getTime() + t.ttlSeconds * 1000,
      });
      return token;
    },
    checkToken(token) {
      const t = tokens.get(token);
      if (!t) return 'invalid';
      if (clock.now().getTime() >= t.expiresAt) return 'expired';
      return t;
    },
    expireTokens() {
      for (const t of tokens.values()) t.expiresAt = Number.NEGATIVE_INFINITY;
    },
    requests: [],
    nowIso,
  };
}
