/**
 * Lua scripts of the notification outbox. Each is one atomic step; together with the outbox write
 * in the store's APPLY_TRANSITION they keep one invariant: a case whose outbox is not empty is in
 * exactly one of the pending set (being delivered) or the dead-letter zset (waiting for a replay).
 */

/**
 * Acknowledges a delivered notification: pops the head only if it is still the item delivered
 * (a second worker that delivered the same item concurrently pops nothing).
 * KEYS: outbox, failing hash. ARGV: delivered item (exact JSON), case id.
 * Returns 1 popped, 0 the head had already changed.
 */
export const OUTBOX_ACK = `
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[1] then return 0 end
redis.call('LPOP', KEYS[1])
redis.call('HDEL', KEYS[2], ARGV[2])
return 1
`;

/**
 * Finishes a case's delivery run: leaves the pending set only when the outbox is empty, checked in
 * the same step, so a notification written meanwhile keeps the case pending.
 * KEYS: outbox, pending set, failing hash. ARGV: case id. Returns 1 settled, 0 items remain.
 */
export const OUTBOX_SETTLE = `
if redis.call('LLEN', KEYS[1]) > 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
`;

/**
 * Gives up on a case's notifications: pending set → dead-letter zset, with the last error.
 * KEYS: outbox, pending set, dlq zset, dlq info hash, failing hash.
 * ARGV: case id, now (ms), info JSON. Returns the number of notifications dead-lettered.
 */
export const OUTBOX_DEAD_LETTER = `
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
redis.call('HDEL', KEYS[5], ARGV[1])
return redis.call('LLEN', KEYS[1])
`;

/**
 * Replays a dead-lettered case: dead-letter zset → pending set, with a fresh retry window.
 * KEYS: outbox, pending set, dlq zset, dlq info hash, failing hash. ARGV: case id.
 * Returns the number of notifications to deliver, or -1 when the case is not dead-lettered.
 */
export const OUTBOX_REPLAY = `
if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then return -1 end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
local n = redis.call('LLEN', KEYS[1])
if n > 0 then redis.call('SADD', KEYS[2], ARGV[1]) end
return n
`;
