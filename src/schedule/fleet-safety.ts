/**
 * One adaptive safety for every replica of a schedule. The interval is shared, and the schedule's
 * script re-grids after its last slot whenever a reservation asks for another interval: two
 * replicas that settle on neighbouring safeties (each measures its own delays) would re-grid on
 * every request, and every re-grid throws away the free slots before the tail — measured on
 * `bench:fleet` before this: reads at 64 % of the limit, queues at their deadline. So each replica
 * proposes its own safety every few seconds and the whole fleet runs at the lowest proposal still
 * alive — the most cautious replica's — switching to a new value at one instant announced ahead.
 * A lower safety so waits up to FLEET_ACTIVATE_AFTER_MS: the send guard covers that time, as
 * it always does (a release later than the tolerance of the safety in force does not go).
 */
import { defineLuaScript, type RedisConnection } from '../redis';
import type { ScheduleKeys } from './keys';

/** A proposal is refreshed this often by a replica using the schedule… */
export const FLEET_PROPOSE_EVERY_MS = 2000;
/** …and forgotten this long after its last refresh (a replica gone, or no longer using the schedule). */
export const FLEET_PROPOSAL_TTL_MS = 6000;
/**
 * A new fleet safety takes effect this long after Redis first computed it: longer than the proposal
 * cadence, so every replica has learnt it before, and all switch at the same instant (one re-grid).
 */
export const FLEET_ACTIVATE_AFTER_MS = 2500;
/**
 * The fleet raises its safety only for at least this gain (as `raiseMinGain` in adaptive-margin.ts:
 * each switch costs a re-grid); replicas raising one after another do not switch it step by step.
 * A lower proposal always switches it.
 */
export const FLEET_RAISE_MIN_GAIN = 0.01;

/**
 * KEYS[1]: the schedule's hash — field per replica: `<safety>:<expires at, Redis ms>`; `=cur`: the
 * safety in force; `=next`, `=nextAt`: the one every replica switches to at that Redis instant.
 * ARGV: replica, safety, ttl ms, activation delay ms, least raise. Answers { cur, next or '', ms until next }.
 */
const FLEET_SAFETY_SCRIPT = defineLuaScript(
  'sg-fleet-safety',
  `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. (now + ttl))
local all = redis.call('HGETALL', KEYS[1])
local lowest = tonumber(ARGV[2])
local state = {}
for i = 1, #all, 2 do
  local field = all[i]
  if string.sub(field, 1, 1) == '=' then
    state[field] = all[i + 1]
  else
    local safety, expires = string.match(all[i + 1], '^([^:]+):(%d+)$')
    if safety == nil or tonumber(expires) < now then
      redis.call('HDEL', KEYS[1], field)
    elseif tonumber(safety) < lowest then
      lowest = tonumber(safety)
    end
  end
end
local cur = tonumber(state['=cur'])
local nxt = tonumber(state['=next'])
local nextAt = tonumber(state['=nextAt'])
if nxt ~= nil and nextAt ~= nil and now >= nextAt then
  cur = nxt
  nxt = nil
end
if cur == nil then cur = lowest end
local target = lowest
if lowest > cur and lowest < cur + tonumber(ARGV[5]) - 1e-9 then target = cur end
if target == cur then
  nxt = nil
elseif nxt ~= target then
  nxt = target
  nextAt = now + tonumber(ARGV[4])
end
redis.call('HSET', KEYS[1], '=cur', tostring(cur))
if nxt == nil then
  redis.call('HDEL', KEYS[1], '=next', '=nextAt')
  redis.call('PEXPIRE', KEYS[1], ttl)
  return { tostring(cur), '', '-1' }
end
redis.call('HSET', KEYS[1], '=next', tostring(nxt), '=nextAt', tostring(nextAt))
redis.call('PEXPIRE', KEYS[1], ttl)
return { tostring(cur), tostring(nxt), tostring(nextAt - now) }`,
);

/** Same hash tag as the schedule's own keys, so it lives in the same Cluster slot. */
export function fleetSafetyKey(keys: ScheduleKeys): string {
  return `${keys.id}:safety`;
}

/** What the fleet runs at: `safety` now, and `next` from `inMs` after the reply on. */
export interface FleetSafety {
  safety: number;
  next?: { safety: number; inMs: number };
}

/** Proposes `safety` for `replicaId`; answers the fleet's safety in force and the one it switches to next. */
export async function proposeFleetSafety(
  connection: RedisConnection,
  keys: ScheduleKeys,
  replicaId: string,
  safety: number,
): Promise<FleetSafety> {
  const reply = await connection.runScript(
    FLEET_SAFETY_SCRIPT,
    [fleetSafetyKey(keys)],
    [replicaId, String(safety), FLEET_PROPOSAL_TTL_MS, FLEET_ACTIVATE_AFTER_MS, FLEET_RAISE_MIN_GAIN],
  );
  if (!Array.isArray(reply) || reply.length !== 3) throw new Error('fleet safety: unexpected reply');
  const [cur, next, inMs] = reply.map((part) => String(part));
  const valid = (value: number) => value > 0 && value <= 1;
  if (!valid(Number(cur))) throw new Error(`fleet safety: unexpected safety ${cur}`);
  if (next === '' || !valid(Number(next))) return { safety: Number(cur) };
  return { safety: Number(cur), next: { safety: Number(next), inMs: Math.max(0, Number(inMs)) } };
}
