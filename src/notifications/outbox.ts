/**
 * The notification outbox on Redis: one list per case (written by the case store together with
 * each decision), the set of cases with notifications pending, and the dead-letter zset. Every
 * step that moves a case between those is one Lua script (see scripts.ts).
 */
import type { RedisClient } from '../queue/redis.js';
import { storeKeys, type StoreKeys } from '../store/keys.js';
import { OUTBOX_ACK, OUTBOX_DEAD_LETTER, OUTBOX_REPLAY, OUTBOX_SETTLE } from './scripts.js';

type OutboxRedis = RedisClient & {
  kycOutboxAck(...args: string[]): Promise<number>;
  kycOutboxSettle(...args: string[]): Promise<number>;
  kycOutboxDeadLetter(...args: string[]): Promise<number>;
  kycOutboxReplay(...args: string[]): Promise<number>;
};

/** What is kept about a dead-lettered case, next to its place in the dead-letter zset. */
export interface DeadLetterInfo {
  lastError: string;
  /** ISO time the head notification first failed (the start of the retry window). */
  failingSince?: string;
}

export function createOutbox(redis: RedisClient, prefix: string) {
  const keys: StoreKeys = storeKeys(prefix);
  const r = redis as OutboxRedis;
  redis.defineCommand('kycOutboxAck', { numberOfKeys: 2, lua: OUTBOX_ACK });
  redis.defineCommand('kycOutboxSettle', { numberOfKeys: 3, lua: OUTBOX_SETTLE });
  redis.defineCommand('kycOutboxDeadLetter', { numberOfKeys: 5, lua: OUTBOX_DEAD_LETTER });
  redis.defineCommand('kycOutboxReplay', { numberOfKeys: 5, lua: OUTBOX_REPLAY });
  const moveKeys = (id: string): string[] => [
    keys.outbox(id), keys.outboxPending(), keys.notificationDlq(), keys.notificationDlqInfo(), keys.notificationFailing(),
  ];

  return {
    keys,
    /** The oldest undelivered notification of a case (exact stored JSON), or null. */
    head: (caseId: string): Promise<string | null> => redis.lindex(keys.outbox(caseId), 0),
    items: (caseId: string): Promise<string[]> => redis.lrange(keys.outbox(caseId), 0, -1),
    isPending: async (caseId: string): Promise<boolean> => (await redis.sismember(keys.outboxPending(), caseId)) === 1,
    ack: async (caseId: string, item: string): Promise<boolean> =>
      (await r.kycOutboxAck(keys.outbox(caseId), keys.notificationFailing(), item, caseId)) === 1,
    settle: async (caseId: string): Promise<boolean> =>
      (await r.kycOutboxSettle(keys.outbox(caseId), keys.outboxPending(), keys.notificationFailing(), caseId)) === 1,

    /** Records the first failure of the current head (kept until a delivery succeeds); returns its time. */
    async failingSince(caseId: string, now: Date): Promise<number> {
      const res = await redis.multi().hsetnx(keys.notificationFailing(), caseId, String(now.getTime())).hget(keys.notificationFailing(), caseId).exec();
      const since = Number(res?.[1]?.[1]);
      return Number.isFinite(since) ? since : now.getTime();
    },

    async deadLetter(caseId: string, now: Date, info: DeadLetterInfo): Promise<number> {
      return r.kycOutboxDeadLetter(...moveKeys(caseId), caseId, String(now.getTime()), JSON.stringify(info));
    },

    /** Dead-letter → pending. Returns the number of notifications now pending, or null if not dead-lettered. */
    async replay(caseId: string): Promise<number | null> {
      const n = await r.kycOutboxReplay(...moveKeys(caseId), caseId);
      return n < 0 ? null : n;
    },

    /** Dead-lettered cases, oldest first, with the time each was dead-lettered. */
    async deadLetters(): Promise<{ caseId: string; failedAt: number; info?: DeadLetterInfo; notifications: number }[]> {
      const flat = await redis.zrange(keys.notificationDlq(), '0', '-1', 'WITHSCORES');
      const out: { caseId: string; failedAt: number; info?: DeadLetterInfo; notifications: number }[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const caseId = flat[i]!;
        const [raw, n] = await Promise.all([redis.hget(keys.notificationDlqInfo(), caseId), redis.llen(keys.outbox(caseId))]);
        out.push({ caseId, failedAt: Number(flat[i + 1]), notifications: n, ...(raw ? { info: JSON.parse(raw) as DeadLetterInfo } : {}) });
      }
      return out;
    },

    async isDeadLettered(caseId: string): Promise<boolean> {
      return (await redis.zscore(keys.notificationDlq(), caseId)) !== null;
    },

    /**
     * The next slice of the pending set (SSCAN, resuming where the previous call stopped), so a
     * sweep costs about `count` per call however many cases are pending.
     */
    async scanPending(count: number): Promise<string[]> {
      const cursor = (await redis.get(keys.outboxSweepCursor())) ?? '0';
      const [next, ids] = await redis.sscan(keys.outboxPending(), cursor, 'COUNT', count);
      await redis.set(keys.outboxSweepCursor(), next);
      return ids;
    },
  };
}

export type Outbox = ReturnType<typeof createOutbox>;
