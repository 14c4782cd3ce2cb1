/** Lua scripts of the case store: each is one atomic step, so a crash never leaves half a write. */

/**
 * A case hash holds `v` (version), `doc` (the case without its version and applicant), `app` (the
 * applicant, which few transitions change, so most writes leave it be) and `h` (timeline head).
 *
 * KEYS: ext, case, timeline, all-cases zset, status zset.
 * ARGV: id, doc, timeline entry, entry hash, score (ms), applicant.
 * Returns the id of the case for (provider, externalId): the existing one, or ARGV[1] when created.
 */
export const CREATE_CASE = `
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'v', 1, 'doc', ARGV[2], 'h', ARGV[4], 'app', ARGV[6])
redis.call('RPUSH', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[5], ARGV[1])
return ARGV[1]
`;

/**
 * Compare-and-set transition.
 * KEYS: case, timeline, applied-inputs set, old status zset, new status zset, provider-user index,
 *       reconcile zset, notification outbox list, outbox-pending set, notification dead-letter zset.
 * ARGV: expected version, doc, timeline entry, entry hash, input key ('' = none), id, score,
 *       '1' to set the provider-user index, next poll time in ms ('' = leave, '-' = never),
 *       partner notification JSON ('' = none), applicant ('' = unchanged).
 * The notification is a transactional outbox: written with the transition or not at all. A case
 * whose earlier notifications are dead-lettered queues the new one behind them (order per case)
 * and stays out of the pending set until an operator replays it.
 * Returns 1 applied, 0 version conflict, 2 input already applied, -1 no such case.
 */
export const APPLY_TRANSITION = `
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return -1 end
if ARGV[5] ~= '' and redis.call('SISMEMBER', KEYS[3], ARGV[5]) == 1 then return 2 end
if v ~= ARGV[1] then return 0 end
if ARGV[5] ~= '' then redis.call('SADD', KEYS[3], ARGV[5]) end
if ARGV[11] ~= '' then redis.call('HSET', KEYS[1], 'v', tonumber(v) + 1, 'doc', ARGV[2], 'h', ARGV[4], 'app', ARGV[11])
else redis.call('HSET', KEYS[1], 'v', tonumber(v) + 1, 'doc', ARGV[2], 'h', ARGV[4]) end
redis.call('RPUSH', KEYS[2], ARGV[3])
if KEYS[4] ~= KEYS[5] then
  redis.call('ZREM', KEYS[4], ARGV[6])
  redis.call('ZADD', KEYS[5], ARGV[7], ARGV[6])
end
if ARGV[8] == '1' then redis.call('SET', KEYS[6], ARGV[6]) end
if ARGV[9] == '-' then redis.call('ZREM', KEYS[7], ARGV[6])
elseif ARGV[9] ~= '' then redis.call('ZADD', KEYS[7], ARGV[9], ARGV[6]) end
if ARGV[10] ~= '' then
  redis.call('RPUSH', KEYS[8], ARGV[10])
  if not redis.call('ZSCORE', KEYS[10], ARGV[6]) then redis.call('SADD', KEYS[9], ARGV[6]) end
end
return 1
`;

/**
 * Claims the cases whose poll is due: returns up to ARGV[2] ids with score <= ARGV[1] and pushes
 * each one's score to ARGV[3] (a lease), so a slow or lost poll is retried later, never lost.
 * KEYS: reconcile zset.
 */
export const CLAIM_DUE = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[3], id) end
return ids
`;

/**
 * Reads a case for a compare-and-set: version, doc, head hash and applicant, and the timeline
 * length (the next entry's seq), in one atomic step. A script rather than MULTI: one command
 * instead of four, and no client-side pipeline object per read (ioredis copies every defined
 * script onto each). KEYS: case, timeline. Returns [[v, doc, h, app], length].
 */
export const READ_CASE = `
return { redis.call('HMGET', KEYS[1], 'v', 'doc', 'h', 'app'), redis.call('LLEN', KEYS[2]) }
`;
