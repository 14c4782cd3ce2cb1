/**
 * The Kraken ledger (`src/providers/kraken/ledger.ts`) on Redis, shared by every process of a
 * deployment: `<prefix>:kraken:<key tag>:iiban:<external_id>` → IIBAN, and
 * `<prefix>:kraken:<key tag>:fields:<IIBAN>` → hash of field digests. The key tag is a hash of the
 * API key (external_ids are unique per Kraken partner account, not per deployment), and the prefix
 * keeps the keys in the deployment's cluster slot. Kept as long as the cases are (no TTL).
 */
import { createHash } from 'node:crypto';
import type { KrakenLedger } from '../providers/kraken/ledger.js';
import type { RedisClient } from '../queue/redis.js';

export function krakenLedgerKeys(prefix: string, apiKey: string) {
  const tag = createHash('sha256').update(apiKey).digest('hex').slice(0, 12);
  const base = `${prefix}:kraken:${tag}`;
  return {
    iiban: (externalId: string) => `${base}:iiban:${externalId}`,
    fields: (iiban: string) => `${base}:fields:${iiban}`,
  };
}

export function createRedisKrakenLedger(deps: {
  redis: RedisClient;
  prefix: string;
  apiKey: string;
}): KrakenLedger {
  const keys = krakenLedgerKeys(deps.prefix, deps.apiKey);
  const r = deps.redis;
  return {
    async iibanFor(externalId) {
      return (await r.get(keys.iiban(externalId))) ?? undefined;
    },
    async linkUser(externalId, iiban, fields) {
      const m = r.multi().set(keys.iiban(externalId), iiban).del(keys.fields(iiban));
      if (fields && Object.keys(fields).length > 0) m.hset(keys.fields(iiban), fields);
      const failed = (await m.exec())?.find(([err]) => err)?.[0];
      if (failed) throw failed;
    },
    async fieldsOf(iiban) {
      const h = await r.hgetall(keys.fields(iiban));
      return Object.keys(h).length > 0 ? h : undefined;
    },
    async recordPatch(iiban, fields) {
      if (Object.keys(fields).length > 0) await r.hset(keys.fields(iiban), fields);
    },
  };
}
