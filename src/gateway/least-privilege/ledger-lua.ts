/**
 * The compute ledger as one Lua script: every operation is one EVALSHA, atomic, on the keys of one
 * account (one hash tag, one Cluster slot). It reads the clock with `TIME`, so replicas' clocks never
 * matter. A port of `ledger-memory.ts`; keep the two in step (the shared case table checks both).
 *
 * KEYS[1] owners hash     computeId → callerId; never expires (ownership must outlive everything)
 * KEYS[2] live hash       computeId → "<encoded caller> <reservationId>" (the create that made it)
 * KEYS[3] live counts     hash: encoded caller → live computes of that caller
 * KEYS[4] pending zset    "<encoded caller> <reservationId>" scored by hold expiry (ms)
 * KEYS[5] hour zset       of one caller: reservationId scored by reserve time (ms); absent for
 *                         operations that name no caller (deleted, owners, live, repair)
 *
 * ARGV[1] op: reserve | commit | release | deleted | owners | counts | live | repair
 * ARGV[2] now override in ms ('' in production; tests pin the clock)
 * ARGV[3] window of the per-hour count in ms (an hour, shorter in tests)
 * ARGV[4…] the op's arguments (see each branch).
 *
 * An encoded caller (`encodeKeyPart`) never contains a space, so "<caller> <reservation>" splits at
 * the first space whatever the reservation id holds. Numbers are written with %.17g (Lua's default
 * tostring keeps 14 digits, too few for ms timestamps). Replies are arrays of strings.
 */
import { defineLuaScript } from '../../redis/lua-script';

const SOURCE = String.raw`
local OWNERS, LIVE, COUNTS, PENDING, HOUR = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local op = ARGV[1]
local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local windowMs = tonumber(ARGV[3])
local function fmt(x) return string.format('%.17g', x) end

-- Holds that passed are gone: the create died with its gateway (or is still running, and will be
-- counted when it commits).
local function prune_pending()
  redis.call('ZREMRANGEBYSCORE', PENDING, '-inf', fmt(now))
end

-- An entry counts while reservedAt > now - window.
local function prune_hour()
  redis.call('ZREMRANGEBYSCORE', HOUR, '-inf', fmt(now - windowMs))
end

-- Both zsets expire with their last entry, so idle accounts and callers leave nothing behind.
local function expire_pending()
  local last = redis.call('ZRANGE', PENDING, -1, -1, 'WITHSCORES')
  if #last == 2 then redis.call('PEXPIRE', PENDING, math.max(1, math.ceil(tonumber(last[2]) - now))) end
end

local function expire_hour()
  local last = redis.call('ZRANGE', HOUR, -1, -1, 'WITHSCORES')
  if #last == 2 then redis.call('PEXPIRE', HOUR, math.max(1, math.ceil(tonumber(last[2]) + windowMs - now))) end
end

local function count_down(enc)
  if redis.call('HINCRBY', COUNTS, enc, -1) <= 0 then redis.call('HDEL', COUNTS, enc) end
end

local function split(value)
  local sp = string.find(value, ' ', 1, true)
  return string.sub(value, 1, sp - 1), string.sub(value, sp + 1)
end

-- Pending holds of one caller (all of the account's are in one zset; there are few: creates in flight).
local function pending_of(prefix, members)
  local n = 0
  for _, m in ipairs(members) do
    if string.sub(m, 1, #prefix) == prefix then n = n + 1 end
  end
  return n
end

if op == 'reserve' then
  local enc, rid = ARGV[4], ARGV[5]
  local callerLiveMax, perHourMax, accountLiveMax = ARGV[6], ARGV[7], ARGV[8]
  local enforce, holdMs = ARGV[9] == '1', tonumber(ARGV[10])
  prune_pending()
  prune_hour()
  local member = enc .. ' ' .. rid
  -- The same reservation again (a retry of one attempt chain) holds its place already: not counted twice.
  local selfPending = 0
  if redis.call('ZSCORE', PENDING, member) then selfPending = 1 end
  local selfHour = 0
  if redis.call('ZSCORE', HOUR, rid) then selfHour = 1 end
  local pending = redis.call('ZRANGE', PENDING, 0, -1)
  local callerLive = (tonumber(redis.call('HGET', COUNTS, enc)) or 0) + pending_of(enc .. ' ', pending) - selfPending
  local accountLive = redis.call('HLEN', LIVE) + #pending - selfPending
  local hourCount = redis.call('ZCARD', HOUR) - selfHour

  local quota, limit, retry
  if callerLiveMax ~= '' and callerLive + 1 > tonumber(callerLiveMax) then
    quota, limit = 'caller.liveComputes', callerLiveMax
  elseif accountLiveMax ~= '' and accountLive + 1 > tonumber(accountLiveMax) then
    quota, limit = 'account.liveComputes', accountLiveMax
  elseif perHourMax ~= '' and hourCount + 1 > tonumber(perHourMax) then
    quota, limit = 'caller.createsPerHour', perHourMax
    -- Room comes back when the (count - max)-th oldest other entry (0-based) leaves the window.
    local need = hourCount - tonumber(perHourMax)
    local entries = redis.call('ZRANGE', HOUR, 0, need + 1, 'WITHSCORES')
    local k = 0
    for i = 1, #entries, 2 do
      if entries[i] ~= rid then
        if k == need then retry = tonumber(entries[i + 1]) + windowMs - now; break end
        k = k + 1
      end
    end
  end

  local retryText = ''
  if retry ~= nil then retryText = fmt(retry) end
  if quota ~= nil and enforce then return { 'quota', quota, limit, '0', retryText } end
  redis.call('ZADD', PENDING, fmt(now + holdMs), member)
  redis.call('ZADD', HOUR, 'NX', fmt(now), rid)
  expire_pending()
  expire_hour()
  if quota ~= nil then return { 'quota', quota, limit, '1', retryText } end
  return { 'ok' }
end

if op == 'commit' then
  local caller, enc, rid, cid = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
  prune_pending()
  local wasPending = redis.call('ZREM', PENDING, enc .. ' ' .. rid) == 1
  local current = redis.call('HGET', LIVE, cid)
  local record = true
  if current then
    local curEnc, curRid = split(current)
    if curEnc == enc then
      record = false
      -- An Idempotency-Key replay returned a compute that is already live: this create made nothing.
      if curRid ~= rid then redis.call('ZREM', HOUR, rid) end
    else
      -- Live under another caller: the id was reused upstream (deleted outside the gateway). The
      -- upstream says this create made it, so it moves to this caller.
      count_down(curEnc)
    end
  elseif redis.call('HGET', OWNERS, cid) == caller then
    -- Owned and not live: deleted through the gateway, and this is a replay of the create that
    -- made it. Not revived (it does not exist); a replay created nothing this hour.
    record = false
    if wasPending then redis.call('ZREM', HOUR, rid) end
  end
  if record then
    redis.call('HSET', LIVE, cid, enc .. ' ' .. rid)
    redis.call('HINCRBY', COUNTS, enc, 1)
    redis.call('HSET', OWNERS, cid, caller)
  end
  expire_pending()
  return { 'ok' }
end

if op == 'release' then
  local enc, rid = ARGV[4], ARGV[5]
  prune_pending()
  redis.call('ZREM', PENDING, enc .. ' ' .. rid)
  redis.call('ZREM', HOUR, rid)
  expire_pending()
  return { 'ok' }
end

if op == 'deleted' then
  local cid = ARGV[4]
  local current = redis.call('HGET', LIVE, cid)
  if current then
    redis.call('HDEL', LIVE, cid)
    local curEnc = split(current)
    count_down(curEnc)
  end
  return { 'ok' }
end

if op == 'owners' then
  local out = {}
  local batch = 1000
  for first = 4, #ARGV, batch do
    local last = math.min(#ARGV, first + batch - 1)
    local owners = redis.call('HMGET', OWNERS, unpack(ARGV, first, last))
    for i = 1, last - first + 1 do
      -- '=' marks a known owner (any string, even empty); '' an unknown compute. No nil holes in replies.
      if owners[i] then out[#out + 1] = '=' .. owners[i] else out[#out + 1] = '' end
    end
  end
  return out
end

if op == 'counts' then
  local enc = ARGV[4]
  local pending = redis.call('ZRANGEBYSCORE', PENDING, '(' .. fmt(now), '+inf')
  local callerLive = (tonumber(redis.call('HGET', COUNTS, enc)) or 0) + pending_of(enc .. ' ', pending)
  local accountLive = redis.call('HLEN', LIVE) + #pending
  local hourCount = redis.call('ZCOUNT', HOUR, '(' .. fmt(now - windowMs), '+inf')
  return { tostring(callerLive), tostring(accountLive), tostring(hourCount) }
end

-- Every live compute of the account with the encoded caller that created it, flat: id, caller, id, …
if op == 'live' then
  local out = {}
  local entries = redis.call('HGETALL', LIVE)
  for i = 1, #entries, 2 do
    local enc = split(entries[i + 1])
    out[#out + 1] = entries[i]
    out[#out + 1] = enc
  end
  return out
end

-- A rebuild's changes (ledger-rebuild.ts), four arguments each: kind ('owner' | 'live'), compute id,
-- the value the plan saw ('' = none) and the value to write ('' = none; owners are never removed).
-- Each applies only where the ledger still holds what the plan saw, so a create or delete that ran
-- since the plan was made is never undone. Live counts are then recounted from the live hash.
if op == 'repair' then
  local applied, stale = 0, 0
  for i = 4, #ARGV, 4 do
    local kind, cid, expected, wanted = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
    if kind == 'owner' then
      if (redis.call('HGET', OWNERS, cid) or '') == expected then
        redis.call('HSET', OWNERS, cid, wanted)
        applied = applied + 1
      else
        stale = stale + 1
      end
    elseif kind == 'live' then
      local current = redis.call('HGET', LIVE, cid)
      local curEnc = ''
      if current then curEnc = split(current) end
      if curEnc == expected then
        if wanted == '' then redis.call('HDEL', LIVE, cid) else redis.call('HSET', LIVE, cid, wanted .. ' rebuilt') end
        applied = applied + 1
      else
        stale = stale + 1
      end
    else
      return redis.error_reply('unknown repair kind ' .. tostring(kind))
    end
  end
  redis.call('DEL', COUNTS)
  local entries = redis.call('HGETALL', LIVE)
  for i = 2, #entries, 2 do redis.call('HINCRBY', COUNTS, (split(entries[i])), 1) end
  return { tostring(applied), tostring(stale) }
end

return redis.error_reply('unknown op ' .. tostring(op))
`;

export const LEDGER_SCRIPT = defineLuaScript('compute-ledger', SOURCE);
