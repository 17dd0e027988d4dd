/** The fleet's adaptive safety on a real Redis (`fleet-safety.ts`): lowest live proposal, one announced switch. */
import { FLEET_ACTIVATE_AFTER_MS, fleetSafetyKey, proposeFleetSafety } from '../../../src/schedule/fleet-safety';
import { scheduleKeys } from '../../../src/schedule/keys';
import { redisPerSuite } from '../../helpers/redis-suite';

const redis = redisPerSuite();
let schedules = 0;

const freshKeys = () => scheduleKeys('sgtest', `acct${(schedules += 1)}`, 'read');

describe('proposeFleetSafety', () => {
  it('the first proposal is in force at once; a lower one is announced for every replica, then in force', async () => {
    const keys = freshKeys();
    expect(await proposeFleetSafety(redis.connection, keys, 'a', 0.95)).toEqual({ safety: 0.95 });
    expect(await proposeFleetSafety(redis.connection, keys, 'b', 0.95)).toEqual({ safety: 0.95 });
    const lowered = await proposeFleetSafety(redis.connection, keys, 'a', 0.9);
    expect(lowered.safety).toBe(0.95);
    expect(lowered.next?.safety).toBe(0.9);
    expect(lowered.next!.inMs).toBeGreaterThan(FLEET_ACTIVATE_AFTER_MS - 200);
    expect(lowered.next!.inMs).toBeLessThanOrEqual(FLEET_ACTIVATE_AFTER_MS);
    // Replica b, which measured nothing new, learns the same switch at the same instant.
    const seenByB = await proposeFleetSafety(redis.connection, keys, 'b', 0.95);
    expect(seenByB.next?.safety).toBe(0.9);
    expect(Math.abs(seenByB.next!.inMs - lowered.next!.inMs)).toBeLessThan(100);
    // After the switch: in force for everyone.
    await redis.server.command('HSET', fleetSafetyKey(keys), '=nextAt', '0');
    expect(await proposeFleetSafety(redis.connection, keys, 'b', 0.95)).toEqual({ safety: 0.9 });
  });

  it('raises only when the lowest proposal gains at least 1 %', async () => {
    const keys = freshKeys();
    await proposeFleetSafety(redis.connection, keys, 'a', 0.95);
    await proposeFleetSafety(redis.connection, keys, 'b', 0.95);
    // a measured more room, b not yet: the lowest stays 0.95.
    expect(await proposeFleetSafety(redis.connection, keys, 'a', 0.99)).toEqual({ safety: 0.95 });
    // b too, a little less: a gain of 0.0075 is not worth a re-grid.
    expect(await proposeFleetSafety(redis.connection, keys, 'b', 0.9575)).toEqual({ safety: 0.95 });
    const raised = await proposeFleetSafety(redis.connection, keys, 'b', 0.985);
    expect(raised.next?.safety).toBe(0.985);
    // A lower proposal in the meantime replaces the announced raise.
    const lowered = await proposeFleetSafety(redis.connection, keys, 'a', 0.94);
    expect(lowered.next?.safety).toBe(0.94);
  });

  it("forgets a replica's proposal once it stops proposing", async () => {
    const keys = freshKeys();
    await proposeFleetSafety(redis.connection, keys, 'a', 0.9);
    // b's own proposal is higher; a's expires (made to, rather than waiting 6 s).
    await redis.server.command('HSET', fleetSafetyKey(keys), 'a', '0.9:1');
    const reply = await proposeFleetSafety(redis.connection, keys, 'b', 0.97);
    expect(reply.next?.safety).toBe(0.97);
    expect(await redis.server.command('HEXISTS', fleetSafetyKey(keys), 'a')).toBe(0);
  });
});
