/**
 * Rotating an account's Strettch key without downtime: put the new key in the file the policy
 * references, reload; later requests carry the new key (the sandbox referee's label of the key
 * that authenticated them says so), while a request already accepted and waiting for its slot on
 * the rate schedule finishes with the key it started with.
 */
import { startReloadHarness, type ReloadHarness } from './reload-harness';

/**
 * Slow enough that a second write waits ~350 ms for its slot: time for the first to be answered and
 * a reload under it (at 4/s, ~260 ms, a busy machine's first answer came after the second had left).
 */
const WRITE_PER_SECOND = 3;
/**
 * The queued write leaves ~350 ms after it arrived; a stall past its slot's tolerance on a busy
 * machine sends it to a new slot after the one the next write took (~1,050 ms in), past the default
 * 1 s deadline: most likely the 429 one loaded CI run answered it. What is tested is which key it
 * carries, not the deadline.
 */
const OPERATOR_MAX_WAIT_MS = 5000;

let h: ReloadHarness;
let token: string;
beforeAll(async () => {
  const started = await startReloadHarness({
    kid: 'k1',
    writePerSecond: WRITE_PER_SECOND,
    operatorMaxWaitMs: OPERATOR_MAX_WAIT_MS,
  });
  h = started;
  token = h.mint(started.firstKey);
});
afterAll(() => h.close());

const admittedWrites = (label: string) => h.sandbox.referee.stats().keys[label]?.classes.write.admitted ?? 0;
const write = () => h.request('POST', '/api/v1/computes/999/start', token);

it('a queued request keeps the key it started with; later ones carry the new key', async () => {
  const oldLabel = h.labelOf(h.upstreamKeys.current);
  const newLabel = h.labelOf(h.upstreamKeys.next);

  const first = write();
  const queued = write();
  expect((await first).status).toBe(404);
  // The second write is accepted (caller and key resolved) and waits for its slot: not sent yet.
  expect(admittedWrites(oldLabel)).toBe(1);

  h.writeUpstreamKey(h.upstreamKeys.next);
  await expect(h.gateway.reload()).resolves.toEqual({ ok: true });
  const after = write();

  const queuedReply = await queued;
  expect(queuedReply.status).toBe(404);
  expect(Number(queuedReply.headers['x-queue-wait-ms'])).toBeGreaterThan(100);
  expect((await after).status).toBe(404);

  expect(admittedWrites(oldLabel)).toBe(2);
  expect(admittedWrites(newLabel)).toBe(1);
  expect(h.sandbox.referee.stats().keys[newLabel]!.lastRequest!.headers.authorization).toBe(`Bearer key(${newLabel})`);
});

it('from then on only the new key is used', async () => {
  const oldLabel = h.labelOf(h.upstreamKeys.current);
  const newLabel = h.labelOf(h.upstreamKeys.next);
  expect((await h.request('GET', '/api/v1/computes', token)).status).toBe(200);
  const stats = h.sandbox.referee.stats();
  expect(stats.lastRequest!.key).toBe(newLabel);
  expect(stats.keys[oldLabel]!.classes.read.admitted).toBe(0);
});
