/**
 * The Kraken simulator's in-memory state: users (by IIBAN and by external_id), webhook
 * registrations, the last nonce per API key, and the request and delivery logs tests assert on.
 * Bookkeeping only.
 */
import type { Clock } from '../../lib/clock.js';
import type {
  DeliveryRecord,
  KrakenSimUser,
  KrakenWebhookRegistration,
  RecordedRequest,
  RequiredAction,
} from './types.js';

const ALNUM = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';

export interface KrakenState {
  readonly users: Map<string, KrakenSimUser>;
  readonly byExternalId: Map<string, KrakenSimUser>;
  /** By registration id (`WHSIM-…`), in registration order. */
  readonly webhooks: Map<string, KrakenWebhookRegistration>;
  /** `PREFIX-XXXXX-XXXXXX`-style ids (webhook registrations, verifications, test deliveries). */
  newId(prefix: string): string;
  newUser(init: {
    externalId: string;
    fields: Record<string, unknown>;
    onboarding: RequiredAction;
  }): KrakenSimUser;
  touch(user: KrakenSimUser): void;
  /** Accepts `nonce` for `apiKey` if it is greater than the last accepted one (then remembers it). */
  acceptNonce(apiKey: string, nonce: bigint): boolean;
  readonly requests: RecordedRequest[];
  readonly deliveries: DeliveryRecord[];
  nowIso(): string;
  /** RFC3339 with nanoseconds, as Kraken stamps webhook bodies. */
  nowNanos(): string;
}

export function createKrakenState(opts: {
  clock: Clock;
  random: () => number;
  iibanSpaces: boolean;
}): KrakenState {
  const users = new Map<string, KrakenSimUser>();
  const byExternalId = new Map<string, KrakenSimUser>();
  const nonces = new Map<string, bigint>();
  const nowIso = (): string => opts.clock.now().toISOString();
  const pick = (): string => ALNUM[Math.floor(opts.random() * ALNUM.length)] ?? 'X';
  const group = (): string => Array.from({ length: 4 }, pick).join('');

  const newIiban = (): string => {
    for (;;) {
      const check = String(10 + Math.floor(opts.random() * 90));
      const parts = [`AA${check}`, group(), group(), group()];
      const iiban = parts.join(opts.iibanSpaces ? ' ' : '');
      if (!users.has(iiban)) return iiban;
    }
  };

  let ids = 0;
  return {
    users,
    byExternalId,
    webhooks: new Map(),
    newId(prefix) {
      ids += 1;
      return `${prefix}-${group()}${pick()}-${String(ids).padStart(6, '0')}`;
    },
    newUser(init) {
      const at = nowIso();
      const user: KrakenSimUser = {
        iiban: newIiban(),
        seq: users.size + 1,
        externalId: init.externalId,
        fields: init.fields,
        state: 'ok',
        verified: false,
        requiredActions: [init.onboarding],
        statusReasons: [],
        verifications: [],
        runs: 0,
        createdAt: at,
        updatedAt: at,
      };
      users.set(user.iiban, user);
      byExternalId.set(user.externalId, user);
      return user;
    },
    touch(user) {
      user.updatedAt = nowIso();
    },
    acceptNonce(apiKey, nonce) {
      const last = nonces.get(apiKey);
      if (last !== undefined && nonce <= last) return false;
      nonces.set(apiKey, nonce);
      return true;
    },
    requests: [],
    deliveries: [],
    nowIso,
    nowNanos: () => nowIso().replace(/\.(\d{3})Z$/, '.$1000000Z'),
  };
}
