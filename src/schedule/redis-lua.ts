/**
 * The shared schedule as one Lua script: every operation is one EVALSHA, atomic, on the three keys of
 * one schedule (same hash tag, same Cluster slot). It reads the clock with `TIME`, so replicas'
 * clocks never matter. A port of `calendar.ts` and `caller-sums.ts`; keep them in step (the parity
 * test checks).
 *
 * KEYS[1] state hash, KEYS[2] calendar sorted set, KEYS[3] caller index sorted set.
 * ARGV[1] op: reserve | reserve-many | pause | refused | report | seed
 * ARGV[2] now override in ms ('' in production; tests pin the clock to compare with calendar.ts)
 * ARGV[3] idle TTL ms    ARGV[4] pub/sub channel ('' = none)    ARGV[5] schedule id (for messages)
 * ARGV[6…] the op's arguments (see each branch); reserve may carry a report in ARGV[19…22], a grid
 * anchor in ARGV[23] ('' = none), its slack in ARGV[24], in ARGV[25] the least interval of an old
 * grid whose free points a re-grid keeps ('' = none kept), and in ARGV[26…27] the anchor's window and
 * lead (calendar.ts `anchorWindow`, '' = none); reserve-many carries groups of reservations (ARGV[6] =
 * the number of groups), each a count and then reserve's ARGV[6…27] once, taken count times in a row
 * (its report applied before the first only), and answers with every reservation's reply in order.
 *
 * Cost independent of the callers the schedule knows (issue #15): the hash is read with HMGET (the
 * scalars and the requesting caller's field), the sums of weights and reserved shares are stored,
 * and the caller index (score +activeUntil while a caller counts in the weights, −forgetAt after)
 * yields only the callers whose status changes now. Only changed fields are written.
 *
 * Numbers are stored with %.17g: Lua's default tostring keeps 14 digits, too few for ms timestamps.
 * Replies carry offsets from now (small numbers), as strings.
 */
import { defineLuaScript } from '../redis/lua-script';

const SOURCE = String.raw`
local S, CAL, WHO = KEYS[1], KEYS[2], KEYS[3]
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
-- unpack() has a stack limit (8000); long argument lists go in chunks of this many values.
local CHUNK = 1000
local TRIM_EVERY = 16
-- caller-sums.ts SETTLE_MAX_PER_RESERVATION: callers settled per kind and reservation.
local SETTLE_MAX = 256
local ANCHOR_EPS = 1e-3

-- pb, piv, pl: the previous grid (base, interval, last slot) while its queue lasts; anc: the grid is
-- anchored ('1') (calendar.ts CalendarState.previous, anchored).
local SCALARS = { 'epoch', 'base', 'iv', 'last', 'floor', 'shift', 'n', 'fbr', 'fba', 'rrk', 'sw', 'sr', 'nw', 'nk', 'pb', 'piv', 'pl', 'anc' }
-- A reservation's arguments: ARGV[o … o + RESERVE_ARGS − 1], o = 6 for 'reserve'; 'reserve-many' carries
-- ARGV[6] = the number of groups, then from ARGV[7] per group a count and one such list (with its report
-- slots, '' when none). groupAt: each group's offset; order: per reservation, its group's offset.
local RESERVE_ARGS = 22
local groupAt, order = {}, {}
if op == 'reserve' then groupAt = { 6 }; order = { 6 } end
if op == 'reserve-many' then
  local o = 7
  for i = 1, tonumber(ARGV[6]) do
    groupAt[i] = o + 1
    for _ = 1, tonumber(ARGV[o]) do order[#order + 1] = o + 1 end
    o = o + 1 + RESERVE_ARGS
  end
end
-- The callers of the reservations, each once (a busy caller's groups share one record).
local requesters, listed = {}, {}
for _, o in ipairs(groupAt) do
  local id = ARGV[o + 1]
  if not listed[id] then listed[id] = true; requesters[#requesters + 1] = id end
end
local wanted = { unpack(SCALARS) }
for _, id in ipairs(requesters) do wanted[#wanted + 1] = 'c:' .. id end
local raw = redis.call('HMGET', S, unpack(wanted))
-- loaded: what the hash holds (to write back only what changed); st: the working copy.
local loaded, st = {}, {}
for i, f in ipairs(SCALARS) do
  if raw[i] then loaded[f] = raw[i]; st[f] = raw[i] end
end
local fresh = (loaded.epoch == nil)
local epoch = st.epoch or (t[1] .. '.' .. t[2])
local base = tonumber(st.base or '')
local iv = tonumber(st.iv or '')
local last = tonumber(st.last or '')
local floor = tonumber(st.floor or '') or 0
local shift = tonumber(st.shift or '') or 0
local pb = tonumber(st.pb or '')
local piv = tonumber(st.piv or '')
local pl = tonumber(st.pl or '')
-- A grid written before the flag existed (an older script) may be anchored: none of it is kept until
-- this script sets a grid again.
local anchored = (st.anc ~= '0')
local seq = tonumber(st.n or '') or 0
-- Running sums over the callers (caller-sums.ts): weights of the counted, reserved shares of the known.
local sumW = tonumber(st.sw or '') or 0
local sumR = tonumber(st.sr or '') or 0
local nw = tonumber(st.nw or '') or 0
local nk = tonumber(st.nk or '') or 0
local dirty = {}
-- What this call learnt of the caller index and the calendar, so that the reservations of a batch do
-- not read it again ('now' does not move within a call): each caller's score in WHO (false: not in
-- it), whether the callers due were all settled, and per grid base the run of its points known taken.
local scoreOf = {}
local settledAll = false
local takenRuns = {}

-- Caller records read so far ('false': not in the hash).
local callers = {}
local function decode(v)
  local tat, w, r, seen, maxp, pend = string.match(v, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$')
  return { tat = tonumber(tat), w = tonumber(w), r = tonumber(r), seen = tonumber(seen), maxp = tonumber(maxp), pend = pend }
end
for i, id in ipairs(requesters) do
  local v = raw[#SCALARS + i]
  if v then callers[id] = decode(v) else callers[id] = false end
end

local function chunked(cmd, key, list)
  for i = 1, #list, CHUNK do
    redis.call(cmd, key, unpack(list, i, math.min(i + CHUNK - 1, #list)))
  end
end

-- Reads the records of 'ids' not read yet, in one HMGET (per chunk).
local function load_callers(ids)
  local missing = {}
  for _, id in ipairs(ids) do if callers[id] == nil then missing[#missing + 1] = id end end
  for i = 1, #missing, CHUNK do
    local fields = {}
    for j = i, math.min(i + CHUNK - 1, #missing) do fields[#fields + 1] = 'c:' .. missing[j] end
    local vals = redis.call('HMGET', S, unpack(fields))
    for j, v in ipairs(vals) do
      if v then callers[missing[i + j - 1]] = decode(v) else callers[missing[i + j - 1]] = false end
    end
  end
end

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

-- Every reply ends with the schedule's state (store.ts ScheduleInfo); a batch's replies format the
-- figures that did not move since the last one only once.
local nowText = fmt(now)
local shiftAt, shiftText, floorAt, floorText
local function append_info(out)
  if shiftAt ~= shift then shiftAt, shiftText = shift, fmt(shift) end
  if floorAt ~= floor then floorAt, floorText = floor, fmt(floor - now) end
  local n = #out
  out[n + 1], out[n + 2], out[n + 3], out[n + 4], out[n + 5] = fmt((last or now) - now), shiftText, epoch, floorText, nowText
end

local function save()
  local fields = {}
  local function put(f, v)
    if v ~= loaded[f] then fields[#fields + 1] = f; fields[#fields + 1] = v end
  end
  put('epoch', epoch)
  put('floor', fmt(floor))
  put('shift', fmt(shift))
  put('n', tostring(seq))
  if base ~= nil then put('base', fmt(base)) end
  if iv ~= nil then put('iv', fmt(iv)) end
  if last ~= nil then put('last', fmt(last)) end
  -- '' once cleared (a field read as '' is none), written only by a state that ever had them.
  local function opt(v) if v == nil then return '' end return fmt(v) end
  if pb ~= nil or loaded.pb ~= nil then put('pb', opt(pb)); put('piv', opt(piv)); put('pl', opt(pl)) end
  if iv ~= nil then put('anc', anchored and '1' or '0') end
  if st.fbr ~= nil then put('fbr', st.fbr); put('fba', st.fba) end
  if st.rrk ~= nil then put('rrk', st.rrk) end
  if nk > 0 or loaded.nk ~= nil then
    put('sw', fmt(sumW)); put('sr', fmt(sumR)); put('nw', tostring(nw)); put('nk', tostring(nk))
  end
  for id, c in pairs(dirty) do fields[#fields + 1] = 'c:' .. id; fields[#fields + 1] = encode_caller(c) end
  if #fields > 0 then chunked('HSET', S, fields) end
  -- Past slots are trimmed every TRIM_EVERY grants, not on every call: nothing reads below the last
  -- second (feedback counts (now − 1 s, now], searches start at now), so a few more there are harmless.
  -- (A batch may take several grants at once: trimmed when the count passed a multiple.)
  local seqBefore = tonumber(loaded.n or '') or 0
  if iv ~= nil and math.floor(seq / TRIM_EVERY) ~= math.floor(seqBefore / TRIM_EVERY) then
    redis.call('ZREMRANGEBYSCORE', CAL, '-inf', '(' .. fmt(now - FEEDBACK_WINDOW - iv))
  end
  local horizon = now
  if last ~= nil and last > horizon then horizon = last end
  if floor > horizon then horizon = floor end
  local ttl = math.ceil(horizon - now + idleTtl)
  redis.call('PEXPIRE', S, ttl)
  redis.call('PEXPIRE', CAL, ttl)
  redis.call('PEXPIRE', WHO, ttl)
end

-- Callers whose status time is before now, at most SETTLE_MAX of each kind, the earliest first (as
-- caller-sums.ts): idle ones unseen for forgetCallerMs are forgotten, then counted ones stop counting
-- (forgotten at once if that time passed too). Leftovers still count: the sums err high, never low.
local function forget_callers(ids)
  for _, id in ipairs(ids) do
    local c = callers[id]
    nk = nk - 1
    if nk == 0 then sumR = 0 elseif c then sumR = sumR - c.r end
    callers[id] = false
    dirty[id] = nil
    scoreOf[id] = false
  end
  local fields = {}
  for i, id in ipairs(ids) do fields[i] = 'c:' .. id end
  chunked('ZREM', WHO, ids)
  chunked('HDEL', S, fields)
end

-- A caller's score in the index (nil: not in it), read once per call.
local function score_of(id)
  if scoreOf[id] == nil then scoreOf[id] = tonumber(redis.call('ZSCORE', WHO, id)) or false end
  return scoreOf[id] or nil
end

local function settle_callers(forget)
  -- A reservation scores its caller after now: once all due were settled, none are due in this call.
  if settledAll then return end
  -- Usually nobody is due: one probe over both kinds (scores in (−now, now)) instead of two reads.
  if redis.call('ZCOUNT', WHO, '(' .. fmt(-now), '(' .. fmt(now)) == 0 then
    settledAll = true
    return
  end
  -- Idle callers: score −forgetAt in (−now, 0), the oldest forgetAt first.
  local idle = redis.call('ZREVRANGEBYSCORE', WHO, '(0', '(' .. fmt(-now), 'LIMIT', 0, SETTLE_MAX)
  if #idle > 0 then
    load_callers(idle)
    forget_callers(idle)
  end
  -- Counted callers: score +activeUntil in (0, now), the earliest first.
  local due = redis.call('ZRANGEBYSCORE', WHO, '(0', '(' .. fmt(now), 'WITHSCORES', 'LIMIT', 0, SETTLE_MAX)
  settledAll = #idle < SETTLE_MAX and #due < 2 * SETTLE_MAX
  if #due == 0 then return end
  local ids = {}
  for i = 1, #due, 2 do ids[#ids + 1] = due[i] end
  load_callers(ids)
  local rescored, gone = {}, {}
  for i = 1, #due, 2 do
    local id, activeUntil = due[i], tonumber(due[i + 1])
    local c = callers[id]
    nw = nw - 1
    -- Exactly zero when nobody counts, so float residue never builds up in an idle schedule.
    if nw == 0 then sumW = 0 elseif c then sumW = sumW - c.w end
    local forgetAt = activeUntil
    if c then forgetAt = math.max(c.seen + forget, activeUntil) end
    if forgetAt < now then
      gone[#gone + 1] = id
    else
      rescored[#rescored + 1] = fmt(-forgetAt)
      rescored[#rescored + 1] = id
      scoreOf[id] = -forgetAt
    end
  end
  if #rescored > 0 then chunked('ZADD', WHO, rescored) end
  if #gone > 0 then forget_callers(gone) end
end

-- A state written before the caller index (issue #15) has caller fields but no sums: index them once,
-- so they count and are forgotten as if the index had always been there.
local function index_legacy_callers(activeWindow, forget)
  local all = redis.call('HGETALL', S)
  local scored = {}
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, 2) == 'c:' then
      local id = string.sub(all[i], 3)
      local c = callers[id] or decode(all[i + 1])
      callers[id] = c
      local activeUntil = math.max(c.seen + activeWindow, c.tat, c.maxp)
      nk = nk + 1
      sumR = sumR + c.r
      if now <= activeUntil then
        nw = nw + 1
        sumW = sumW + c.w
        scored[#scored + 1] = fmt(activeUntil)
      else
        scored[#scored + 1] = fmt(-math.max(c.seen + forget, activeUntil))
      end
      scored[#scored + 1] = id
    end
  end
  if #scored > 0 then chunked('ZADD', WHO, scored) end
  scoreOf, settledAll = {}, false
end

local function shift_queued(delta)
  local queued = redis.call('ZRANGEBYSCORE', CAL, '(' .. fmt(now), '+inf', 'WITHSCORES')
  for i = 1, #queued, 2 do redis.call('ZADD', CAL, fmt(tonumber(queued[i + 1]) + delta), queued[i]) end
  takenRuns = {}
  if base ~= nil then base = base + delta end
  if last ~= nil and last > now then last = last + delta end
  -- The previous grid moves with its queue; one whose queue is all past is over.
  if pb ~= nil and pl > now then
    pb = pb + delta
    pl = pl + delta
  else
    pb, piv, pl = nil, nil, nil
  end
  -- Only counted callers whose activeUntil is after now can hold a virtual time or a slot after now.
  local movers = redis.call('ZRANGEBYSCORE', WHO, '(' .. fmt(now), '+inf', 'WITHSCORES')
  local ids = {}
  for i = 1, #movers, 2 do ids[#ids + 1] = movers[i] end
  load_callers(ids)
  local rescored = {}
  for i = 1, #movers, 2 do
    local id, score = movers[i], tonumber(movers[i + 1])
    local c = callers[id]
    if c and (c.maxp > now or c.tat > now) then
      local list = parse_pending(c)
      local activeUntil = score
      for j, s in ipairs(list) do
        if s > now then
          list[j] = s + delta
          if s + delta > activeUntil then activeUntil = s + delta end
        end
      end
      c.live = nil
      if c.tat > now then
        c.tat = c.tat + delta
        if c.tat > activeUntil then activeUntil = c.tat end
      end
      dirty[id] = c
      if activeUntil ~= score then
        rescored[#rescored + 1] = fmt(activeUntil)
        rescored[#rescored + 1] = id
        scoreOf[id] = activeUntil
      end
    end
  end
  if #rescored > 0 then chunked('ZADD', WHO, rescored) end
  shift = shift + delta
end

local function pause_until(untilMs)
  local start = math.max(now, floor)
  if not (untilMs > start) then return 0 end
  local delta = untilMs - start
  shift_queued(delta)
  floor = untilMs
  if channel ~= '' then redis.call('PUBLISH', channel, sid .. '	' .. epoch .. '	' .. fmt(shift)) end
  return delta
end

-- Pages through the taken slots of the grid b + k·step from 'from' until the first hole; a page of 64
-- covers most searches. Points this call found taken already are not read again (a batch's later
-- reservations would each read the whole queue its earlier ones took); when the page that found a
-- hole held every slot after it ('above': their points), the next hole is known without a read.
local function point_of(b, step, score) return math.floor((score - b) / step + 0.5) end
local function earliest_free_on(b, step, from)
  local k = math.ceil((from - b) / step - 1e-9)
  local first = k
  local run = takenRuns[b]
  if run ~= nil and run.step == step and k >= run.first and k <= run.hole then
    if run.above ~= nil then return b + run.hole * step end
    first = run.first
    k = run.hole
  end
  local function hole_at(h, above)
    takenRuns[b] = { step = step, first = first, hole = h, above = above }
    return b + h * step
  end
  local lo = fmt(b + k * step - step / 2)
  while true do
    local entries = redis.call('ZRANGEBYSCORE', CAL, lo, '+inf', 'WITHSCORES', 'LIMIT', 0, 64)
    local complete = #entries < 128
    for i = 2, #entries, 2 do
      local j = point_of(b, step, tonumber(entries[i]))
      if j == k then k = k + 1 elseif j > k then
        local above = nil
        if complete then
          above = {}
          for m = i, #entries, 2 do above[point_of(b, step, tonumber(entries[m]))] = true end
        end
        return hole_at(k, above)
      end
    end
    if complete then return hole_at(k, {}) end
    lo = '(' .. entries[#entries]
  end
end

-- A slot taken: on each grid this call searched, at the run's hole it moves the hole on (past the
-- points known taken after it), after the hole it is one more point known taken.
local function note_taken(slot)
  for b, run in pairs(takenRuns) do
    local j = point_of(b, run.step, slot)
    if j == run.hole then
      run.hole = run.hole + 1
      while run.above ~= nil and run.above[run.hole] do run.hole = run.hole + 1 end
    elseif j > run.hole and run.above ~= nil then
      run.above[j] = true
    end
  end
end

-- calendar.ts firstPointWithRoom: on a re-grid onto an anchored grid, the first of its points after
-- the old queue whose window, and the next, have room for it, counting the slots taken from lead
-- before a window's first point and the free points still to come of the grid the re-grid keeps
-- (kb, kiv, kl; nil when none). nil when slots that may count were trimmed already.
local function first_point_with_room(step, anc, windowMs, lead, kb, kiv, kl)
  local perWindow = math.floor(windowMs / step + 0.5)
  local span = perWindow * step
  local function counted(windowFirst)
    local from = windowFirst - lead
    if from < now - FEEDBACK_WINDOW then return nil end
    local n = redis.call('ZCOUNT', CAL, fmt(from), '+inf')
    if kb ~= nil then
      local a = math.max(from, now, kb)
      local points = math.floor((kl - kb) / kiv + 0.5) - math.ceil((a - kb) / kiv - TAT_SLACK) + 1
      n = n + math.max(0, points - redis.call('ZCOUNT', CAL, fmt(a), '+inf'))
    end
    return n
  end
  local point = anc + math.ceil((last + EPS - anc) / step - 1e-9) * step
  for _ = 1, 4 do
    local windowFirst = anc + math.floor(math.floor((point - anc) / step + 0.5) / perWindow) * span
    local here, nxt = counted(windowFirst), counted(windowFirst + span)
    if here == nil or nxt == nil then return nil end
    local withRoom
    if nxt > 0 then withRoom = windowFirst + span + nxt * step else withRoom = windowFirst + here * step end
    if withRoom <= point + ANCHOR_EPS then return point end
    point = withRoom
  end
  return nil
end

-- A free point of the previous grid up to its last slot, else the earliest free point of the grid.
local function earliest_free(from)
  if pb ~= nil and from <= pl then
    local kept = earliest_free_on(pb, piv, math.max(from, pb))
    if kept < pl then return kept end
  end
  return earliest_free_on(base, iv, math.max(from, base))
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

local legacyIndexed = false

-- A reservation's arguments from ARGV[o], read once per group (its reservations share them).
local argsAt = {}
local function args_at(o)
  if argsAt[o] == nil then
    local A = function(k) return ARGV[o + k - 6] end
    argsAt[o] = {
      ivReq = tonumber(A(6)), cid = A(7), weight = tonumber(A(8)), reserved = tonumber(A(9)),
      maxWait = tonumber(A(10)), maxQueued = tonumber(A(11)), activeWindow = tonumber(A(12)),
      forget = tonumber(A(13)), lookahead = tonumber(A(14)), maxReserved = tonumber(A(15)),
      knownEpoch = A(16), hint = tonumber(A(17)), lossGuard = tonumber(A(18)),
      report = A(19), limitUp = tonumber(A(20) or ''), resetKey = A(21), tolerance = tonumber(A(22) or ''),
      anchor = tonumber(A(23) or ''), anchorSlack = tonumber(A(24) or '') or 0, minKept = tonumber(A(25) or ''),
      anchorWindow = tonumber(A(26) or ''), anchorLead = tonumber(A(27) or ''),
    }
  end
  return argsAt[o]
end

-- One reservation, its arguments from ARGV[o] (the first of its group applies the group's report);
-- appends its reply to 'out' without saving (the caller saves once).
local function reserve_one(o, firstOfGroup, out)
  local a = args_at(o)
  local ivReq, cid = a.ivReq, a.cid
  local weight, reserved, maxWait, maxQueued = a.weight, a.reserved, a.maxWait, a.maxQueued
  local activeWindow, forget, lookahead, maxReserved = a.activeWindow, a.forget, a.lookahead, a.maxReserved
  local knownEpoch, hint, lossGuard = a.knownEpoch, a.hint, a.lossGuard

  -- 0. a report of upstream headers riding on this reservation (one round trip per request)
  if firstOfGroup and a.report ~= nil and a.report ~= '' then
    apply_report(tonumber(a.report), a.limitUp, a.resetKey, a.tolerance)
  end

  -- 1. lost state
  if knownEpoch ~= '' and knownEpoch ~= epoch and hint ~= nil then
    local f = now + hint + ivReq
    if fresh and hint > -idleTtl then f = math.max(f, now + lossGuard) end
    if f > floor then floor = f end
  end

  -- 2. grid (on the anchor, when one is given)
  local anchor, anchorSlack = a.anchor, a.anchorSlack
  local function align_up(from, step)
    if anchor == nil then return from end
    return anchor + math.ceil((from - anchor) / step - 1e-9) * step
  end
  local function on_anchor(b, step)
    if anchor == nil then return true end
    local after = b - anchor - math.floor((b - anchor) / step) * step
    return after <= anchorSlack + ANCHOR_EPS or after >= step - ANCHOR_EPS
  end
  local minKept, anchorWindow, anchorLead = a.minKept, a.anchorWindow, a.anchorLead
  local function set_grid()
    iv = ivReq
    anchored = (anchor ~= nil)
  end
  if pb ~= nil and pl <= now then pb, piv, pl = nil, nil, nil end
  local idle = (last == nil) or (last + (iv or ivReq) <= now)
  if idle then
    base = align_up(math.max(now, floor), ivReq)
    pb, piv, pl = nil, nil, nil
    set_grid()
  elseif math.abs(iv - ivReq) > 1e-9 or not on_anchor(base, ivReq) then
    local gap = math.max(iv, ivReq, piv or 0)
    -- calendar.ts: a grid left before it granted a slot of its own keeps the grid before it
    local kb, kiv, kl = nil, nil, nil
    if last < base - EPS then
      if pb ~= nil and minKept ~= nil and piv >= minKept - 1e-9 then kb, kiv, kl = pb, piv, pl end
    elseif not anchored and minKept ~= nil and iv >= minKept - 1e-9 then
      kb, kiv, kl = base, iv, last
    end
    local fitted = nil
    if anchor ~= nil and anchorWindow ~= nil and anchorLead ~= nil then
      fitted = first_point_with_room(ivReq, anchor, anchorWindow, anchorLead, kb, kiv, kl)
    end
    pb, piv, pl = kb, kiv, kl
    base = fitted or align_up(last + gap, ivReq)
    set_grid()
  end

  -- 3. callers: settle those whose status time passed, then count this one (caller-sums.ts)
  if not fresh and loaded.nk == nil and not legacyIndexed then
    legacyIndexed = true
    index_legacy_callers(activeWindow, forget)
  end
  settle_callers(forget)
  local myScore = score_of(cid)
  local me = callers[cid]
  if not me then
    me = { tat = 0, w = weight, r = reserved, seen = now, maxp = 0, pend = '' }
    callers[cid] = me
  end
  -- Not in the index: a new caller (or one written by an older script), not in the sums yet.
  if myScore == nil then
    nk = nk + 1
    sumR = sumR + reserved
  elseif me.r ~= reserved then
    sumR = sumR + (reserved - me.r)
  end
  if myScore == nil or myScore < 0 then
    nw = nw + 1
    sumW = sumW + weight
  elseif me.w ~= weight then
    sumW = sumW + (weight - me.w)
  end
  me.w = weight
  me.r = reserved
  local sumRcapped = sumR
  if sumRcapped > maxReserved then sumRcapped = maxReserved end
  -- Its slots still to come, with the latest of them; kept for the batch's next reservations ('now'
  -- does not move within a call; a shift of the queue drops 'live').
  if not me.live then
    local mine, latest = {}, nil
    for _, s in ipairs(parse_pending(me)) do
      if s > now then
        mine[#mine + 1] = s
        if latest == nil or s > latest then latest = s end
      end
    end
    me.list, me.live, me.latest = mine, true, latest
  end
  local mine = me.list
  dirty[cid] = me

  -- The caller counts until max(now + activeWindow, its virtual time, its latest slot).
  local function seen_me()
    me.seen = now
    local activeUntil = math.max(now + activeWindow, me.tat)
    if me.latest ~= nil and me.latest > activeUntil then activeUntil = me.latest end
    if activeUntil ~= myScore then redis.call('ZADD', WHO, fmt(activeUntil), cid) end
    scoreOf[cid] = activeUntil
  end

  local function reply(kind, a, b, c)
    local n = #out
    out[n + 1], out[n + 2], out[n + 3], out[n + 4] = kind, a, b, c
    append_info(out)
  end
  local function reject(reason, retry)
    seen_me()
    reply('r', reason, fmt(math.max(1, retry)), '')
  end

  -- 4. backlog
  if #mine >= maxQueued then
    local earliest = mine[1]
    for _, s in ipairs(mine) do if s < earliest then earliest = s end end
    return reject('backlog', earliest - now)
  end

  -- 5. slot
  local x = math.max(now, floor, pb or base)
  local limit = now + maxWait
  local s1 = earliest_free(x)
  if s1 > limit + EPS then
    if floor > limit then return reject('paused', s1 - limit) end
    return reject('deadline', s1 - limit)
  end
  local share = me.r + (1 - sumRcapped) * me.w / sumW
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
  note_taken(slot)
  mine[#mine + 1] = slot
  if me.latest == nil or slot > me.latest then me.latest = slot end
  if last == nil or slot > last then last = slot end
  seen_me()
  local keptIv = ''
  if slot < base - EPS then keptIv = fmt(piv) end
  reply('g', fmt(slot - now), idleCapacity, keptIv)
end

-- Each reply is 9 values ('g' or 'r', three figures, info()); 'reserve-many' concatenates them in order.
-- Later reservations of a batch see the earlier ones, exactly as separate calls at the same instant would.
if op == 'reserve' or op == 'reserve-many' then
  local out = {}
  for i, o in ipairs(order) do
    reserve_one(o, i == 1 or order[i - 1] ~= o, out)
    fresh = false
  end
  save()
  return out
end

if op == 'pause' then
  local delta = pause_until(now + tonumber(ARGV[6]))
  save()
  local out = { 'p', fmt(delta) }
  append_info(out)
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
  append_info(out)
  return out
end

if op == 'report' then
  local delta = apply_report(tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], tonumber(ARGV[9]))
  save()
  local out = { 'p', fmt(delta) }
  append_info(out)
  return out
end

if op == 'seed' then
  local f = math.max(now + tonumber(ARGV[6]), now + tonumber(ARGV[7]))
  if f > floor then floor = f end
  save()
  local out = { 'p', '0' }
  append_info(out)
  return out
end

return redis.error_reply('unknown op ' .. tostring(op))
`;

export const SCHEDULE_SCRIPT = defineLuaScript('rate-schedule', SOURCE);
