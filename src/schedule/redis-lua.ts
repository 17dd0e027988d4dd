/**
 * The shared schedule as one Lua script: every operation is one EVALSHA, atomic, on the two keys of
 * one schedule (same hash tag, same Cluster slot). It reads the clock with `TIME`, so replicas'
 * clocks never matter. A port of `calendar.ts`; keep the two in step (the parity test checks).
 *
 * KEYS[1] state hash, KEYS[2] calendar sorted set.
 * ARGV[1] op: reserve | pause | refused | report | seed
 * ARGV[2] now override in ms ('' in production; tests pin the clock to compare with calendar.ts)
 * ARGV[3] idle TTL ms    ARGV[4] pub/sub channel ('' = none)    ARGV[5] schedule id (for messages)
 * ARGV[6…] the op's arguments (see each branch); reserve may carry a report in ARGV[19…22], a
 * grid anchor in ARGV[23] ('' = none) and its slack in ARGV[24].
 *
 * Numbers are stored with %.17g: Lua's default tostring keeps 14 digits, too few for ms timestamps.
 * Replies carry offsets from now (small numbers), as strings.
 */
import { defineLuaScript } from '../redis/lua-script';

const SOURCE = String.raw`
local S, CAL = KEYS[1], KEYS[2]
local op = ARGV[1]
local function fmt(x) return string.format('%.17g', x) end
local t = redis.call('TIME')
local now
if ARGV[2] ~= '' then now = tonumber(ARGV[2]) else now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000 end
local idleTtl = tonumber(ARGV[3])
local channel, sid = ARGV[4], ARGV[5]
local EPS = 1e-6
local TAT_SLACK = 1e-3
local FEEDBACK_WINDOW = 1000
local ANCHOR_EPS = 1e-3

local raw = redis.call('HGETALL', S)
local st = {}
local callers = {}
for i = 1, #raw, 2 do
  local f, v = raw[i], raw[i + 1]
  if string.sub(f, 1, 2) == 'c:' then
    local tat, w, r, seen, maxp, pend = string.match(v, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$')
    callers[string.sub(f, 3)] = { tat = tonumber(tat), w = tonumber(w), r = tonumber(r), seen = tonumber(seen), maxp = tonumber(maxp), pend = pend }
  else
    st[f] = v
  end
end
local fresh = (st.epoch == nil)
local epoch = st.epoch or (t[1] .. '.' .. t[2])
local base = tonumber(st.base or '')
local iv = tonumber(st.iv or '')
local last = tonumber(st.last or '')
local floor = tonumber(st.floor or '') or 0
local shift = tonumber(st.shift or '') or 0
local seq = tonumber(st.n or '') or 0
local dirty = {}

local function parse_pending(c)
  if c.list == nil then
    c.list = {}
    for s in string.gmatch(c.pend, '[^,]+') do c.list[#c.list + 1] = tonumber(s) end
  end
  return c.list
end

local function encode_caller(c)
  local parts = {}
  local maxp = 0
  for i, s in ipairs(c.list or {}) do
    parts[i] = fmt(s)
    if s > maxp then maxp = s end
  end
  return fmt(c.tat) .. '|' .. fmt(c.w) .. '|' .. fmt(c.r) .. '|' .. fmt(c.seen) .. '|' .. fmt(maxp) .. '|' .. table.concat(parts, ',')
end

local function info()
  return { fmt((last or now) - now), fmt(shift), epoch, fmt(floor - now), fmt(now) }
end

local function save()
  local fields = { 'epoch', epoch, 'floor', fmt(floor), 'shift', fmt(shift), 'n', tostring(seq) }
  if base ~= nil then fields[#fields + 1] = 'base'; fields[#fields + 1] = fmt(base) end
  if iv ~= nil then fields[#fields + 1] = 'iv'; fields[#fields + 1] = fmt(iv) end
  if last ~= nil then fields[#fields + 1] = 'last'; fields[#fields + 1] = fmt(last) end
  if st.fbr ~= nil then fields[#fields + 1] = 'fbr'; fields[#fields + 1] = st.fbr; fields[#fields + 1] = 'fba'; fields[#fields + 1] = st.fba end
  if st.rrk ~= nil then fields[#fields + 1] = 'rrk'; fields[#fields + 1] = st.rrk end
  for id, c in pairs(dirty) do fields[#fields + 1] = 'c:' .. id; fields[#fields + 1] = encode_caller(c) end
  redis.call('HSET', S, unpack(fields))
  if iv ~= nil then redis.call('ZREMRANGEBYSCORE', CAL, '-inf', '(' .. fmt(now - FEEDBACK_WINDOW - iv)) end
  local horizon = now
  if last ~= nil and last > horizon then horizon = last end
  if floor > horizon then horizon = floor end
  local ttl = math.ceil(horizon - now + idleTtl)
  redis.call('PEXPIRE', S, ttl)
  redis.call('PEXPIRE', CAL, ttl)
end

local function shift_queued(delta)
  local queued = redis.call('ZRANGEBYSCORE', CAL, '(' .. fmt(now), '+inf', 'WITHSCORES')
  for i = 1, #queued, 2 do redis.call('ZADD', CAL, fmt(tonumber(queued[i + 1]) + delta), queued[i]) end
  if base ~= nil then base = base + delta end
  if last ~= nil and last > now then last = last + delta end
  for id, c in pairs(callers) do
    if c.maxp > now or c.tat > now then
      local list = parse_pending(c)
      for i, s in ipairs(list) do if s > now then list[i] = s + delta end end
      if c.tat > now then c.tat = c.tat + delta end
      dirty[id] = c
    end
  end
  shift = shift + delta
end

local function pause_until(untilMs)
  local start = math.max(now, floor)
  if not (untilMs > start) then return 0 end
  local delta = untilMs - start
  shift_queued(delta)
  floor = untilMs
  if channel ~= '' then redis.call('PUBLISH', channel, sid .. '\t' .. epoch .. '\t' .. fmt(shift)) end
  return delta
end

-- Pages through the taken slots from 'from' until the first hole; a page of 64 covers most searches.
local function earliest_free(from)
  local k = math.ceil((from - base) / iv - 1e-9)
  local lo = fmt(base + k * iv - iv / 2)
  while true do
    local entries = redis.call('ZRANGEBYSCORE', CAL, lo, '+inf', 'WITHSCORES', 'LIMIT', 0, 64)
    for i = 2, #entries, 2 do
      local j = math.floor((tonumber(entries[i]) - base) / iv + 0.5)
      if j == k then k = k + 1 elseif j > k then return base + k * iv end
    end
    if #entries < 128 then return base + k * iv end
    lo = '(' .. entries[#entries]
  end
end

-- Upstream remaining/limit: give up slots when the provider has less room than our calendar explains.
local function apply_report(remaining, limitUp, resetKey, tolerance)
  local delta = 0
  if iv ~= nil and resetKey ~= '' then
    local ours = redis.call('ZCOUNT', CAL, '(' .. fmt(now - FEEDBACK_WINDOW), fmt(now))
    local deficit = limitUp - ours - remaining - tolerance
    local applied = tonumber(st.fba or '0')
    if st.fbr ~= resetKey then applied = 0 end
    local extra = deficit - applied
    st.fbr = resetKey
    st.fba = tostring(applied)
    if extra > 0 then
      st.fba = tostring(applied + extra)
      delta = pause_until(math.max(now, floor) + extra * iv)
    end
  end
  return delta
end

if op == 'reserve' then
  local ivReq, cid = tonumber(ARGV[6]), ARGV[7]
  local weight, reserved, maxWait, maxQueued = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
  local activeWindow, forget, lookahead, maxReserved = tonumber(ARGV[12]), tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[15])
  local knownEpoch, hint, lossGuard = ARGV[16], tonumber(ARGV[17]), tonumber(ARGV[18])

  -- 0. a report of upstream headers riding on this reservation (one round trip per request)
  if ARGV[19] ~= nil and ARGV[19] ~= '' then
    apply_report(tonumber(ARGV[19]), tonumber(ARGV[20]), ARGV[21], tonumber(ARGV[22]))
  end

  -- 1. lost state
  if knownEpoch ~= '' and knownEpoch ~= epoch and hint ~= nil then
    local f = now + hint + ivReq
    if fresh and hint > -idleTtl then f = math.max(f, now + lossGuard) end
    if f > floor then floor = f end
  end

  -- 2. grid (on the anchor, when one is given)
  local anchor = tonumber(ARGV[23] or '')
  local anchorSlack = tonumber(ARGV[24] or '') or 0
  local function align_up(from, step)
    if anchor == nil then return from end
    return anchor + math.ceil((from - anchor) / step - 1e-9) * step
  end
  local function on_anchor(b, step)
    if anchor == nil then return true end
    local after = b - anchor - math.floor((b - anchor) / step) * step
    return after <= anchorSlack + ANCHOR_EPS or after >= step - ANCHOR_EPS
  end
  local idle = (last == nil) or (last + (iv or ivReq) <= now)
  if idle then
    base = align_up(math.max(now, floor), ivReq)
    iv = ivReq
  elseif math.abs(iv - ivReq) > 1e-9 or not on_anchor(base, ivReq) then
    base = align_up(last + math.max(iv, ivReq), ivReq)
    iv = ivReq
  end

  -- 3. callers
  local me = callers[cid]
  if me == nil then
    me = { tat = 0, w = weight, r = reserved, seen = now, maxp = 0, pend = '' }
    callers[cid] = me
  end
  me.w = weight
  me.r = reserved
  local sumW, sumR = 0, 0
  for id, c in pairs(callers) do
    if id ~= cid then
      local hasPending = c.maxp > now
      if c.seen < now - forget and c.tat <= now and not hasPending then
        redis.call('HDEL', S, 'c:' .. id)
      else
        if c.seen >= now - activeWindow or c.tat > now or hasPending then sumW = sumW + c.w end
        sumR = sumR + c.r
      end
    end
  end
  sumW = sumW + me.w
  sumR = sumR + me.r
  if sumR > maxReserved then sumR = maxReserved end
  me.seen = now
  local mine = {}
  for _, s in ipairs(parse_pending(me)) do if s > now then mine[#mine + 1] = s end end
  me.list = mine
  dirty[cid] = me

  local function reject(reason, retry)
    save()
    local out = { 'r', reason, fmt(math.max(1, retry)) }
    for _, v in ipairs(info()) do out[#out + 1] = v end
    return out
  end

  -- 4. backlog
  if #mine >= maxQueued then
    local earliest = mine[1]
    for _, s in ipairs(mine) do if s < earliest then earliest = s end end
    return reject('backlog', earliest - now)
  end

  -- 5. slot
  local x = math.max(now, floor, base)
  local limit = now + maxWait
  local s1 = earliest_free(x)
  if s1 > limit + EPS then
    if floor > limit then return reject('paused', s1 - limit) end
    return reject('deadline', s1 - limit)
  end
  local share = me.r + (1 - sumR) * me.w / sumW
  local spacing = iv / share
  local startC = math.max(me.tat, x)
  local slack = iv * TAT_SLACK
  local slot
  local idleCapacity = '0'
  if s1 >= startC - slack then
    slot = s1
    me.tat = math.min(startC, s1) + spacing
  elseif s1 <= now + lookahead + EPS then
    slot = s1
    idleCapacity = '1'
  else
    local s2 = earliest_free(math.max(x, startC - slack))
    if s2 > limit + EPS then return reject('deadline', s2 - limit) end
    slot = s2
    me.tat = math.min(startC, s2) + spacing
  end

  -- 6. take it
  seq = seq + 1
  redis.call('ZADD', CAL, fmt(slot), tostring(seq))
  mine[#mine + 1] = slot
  if last == nil or slot > last then last = slot end
  save()
  local out = { 'g', fmt(slot - now), idleCapacity }
  for _, v in ipairs(info()) do out[#out + 1] = v end
  return out
end

if op == 'pause' then
  local delta = pause_until(now + tonumber(ARGV[6]))
  save()
  local out = { 'p', fmt(delta) }
  for _, v in ipairs(info()) do out[#out + 1] = v end
  return out
end

-- An upstream 429: one slot given up; a second in the same provider window waits for its reset.
if op == 'refused' then
  local ivReq, resetKey, resetDelay = tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8])
  local windowFull = resetKey ~= '' and st.rrk == resetKey and resetDelay > 0
  st.rrk = resetKey
  local delta
  if windowFull then delta = pause_until(now + resetDelay) else delta = pause_until(math.max(now, floor) + (iv or ivReq)) end
  save()
  local out = { 'p', fmt(delta) }
  for _, v in ipairs(info()) do out[#out + 1] = v end
  return out
end

if op == 'report' then
  local delta = apply_report(tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], tonumber(ARGV[9]))
  save()
  local out = { 'p', fmt(delta) }
  for _, v in ipairs(info()) do out[#out + 1] = v end
  return out
end

if op == 'seed' then
  local f = math.max(now + tonumber(ARGV[6]), now + tonumber(ARGV[7]))
  if f > floor then floor = f end
  save()
  local out = { 'p', '0' }
  for _, v in ipairs(info()) do out[#out + 1] = v end
  return out
end

return redis.error_reply('unknown op ' .. tostring(op))
`;

export const SCHEDULE_SCRIPT = defineLuaScript('rate-schedule', SOURCE);
