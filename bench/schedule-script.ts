/**
 * `node dist-bench/bench/schedule-script.js`: what one reservation costs Redis as an account's callers grow
 * (issue #15). Starts its own redis-server on a free port; for each N fills one schedule with N distinct
 * callers by real reservations, then times K reservations back to back (one in flight) through
 * `RedisScheduleStore` for a mix of those callers, and, as the same run's floor, K trivial EVALSHA round
 * trips (`return 1`). Reports µs per reservation (median of the rounds, with min–max), seen by the client and
 * inside Redis (the script's own time, from `INFO commandstats`), the Redis commands
 * one reservation runs (`INFO commandstats`, the script's own commands included) and `MEMORY USAGE` of the
 * schedule's keys; then one busy caller's reservations sent together (`reserve-many` of 1, 4, 16, 32): what
 * each costs inside Redis when a replica under load shares a call. A measurement, not a test: it exits 0
 * whatever the numbers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createRedisConnection, defineLuaScript, type RedisConnection } from '../src/redis';
import type { CalendarReserveInput } from '../src/schedule/calendar';
import { scheduleKeys, type ScheduleKeys } from '../src/schedule/keys';
import { RedisScheduleStore } from '../src/schedule/redis-store';
import { parseCommandStats, startRedisServer, type RedisServer } from '../test/helpers/redis-server';
import { optionsOrExit, readFlags } from './flags';
import { machineInfo } from './machine';
import { REPO_ROOT } from './repo-root';

interface Options {
  help: boolean;
  callers: number[];
  reservations: number;
  rounds: number;
  outFile: string;
}

const USAGE = `usage: node dist-bench/bench/schedule-script.js [--callers 10,1000,10000] [--reservations 400] [--rounds 5] [--out bench/results/schedule-script.json]`;

function parseArgs(argv: readonly string[]): { ok: true; options: Options } | { ok: false; problems: string[] } {
  const options: Options = {
    help: false,
    callers: [10, 1000, 10_000],
    reservations: 400,
    rounds: 5,
    outFile: path.join(REPO_ROOT, 'bench/results/schedule-script.json'),
  };
  const problems: string[] = [];
  readFlags<'reservations' | 'rounds'>(
    argv,
    {
      switches: { '--help': () => (options.help = true) },
      numbers: {
        '--reservations': { key: 'reservations', min: 10, max: 100_000, integer: true },
        '--rounds': { key: 'rounds', min: 3, max: 50, integer: true },
      },
      texts: ['--callers', '--out'],
    },
    (key, value) => (options[key] = value),
    (flag, value) => {
      if (flag === '--out') options.outFile = path.resolve(value);
      else {
        const list = value.split(',').map(Number);
        if (list.every((n) => Number.isInteger(n) && n >= 1 && n <= 100_000)) options.callers = list;
        else problems.push(`--callers: whole numbers from 1 to 100000, comma-separated`);
      }
    },
    problems,
  );
  return problems.length > 0 ? { ok: false, problems } : { ok: true, options };
}

/** The product's defaults (tuning.ts), at a rate high enough that the bench measures grants, not a queue. */
function reserveInput(callerId: string): CalendarReserveInput {
  return {
    intervalMs: 0.1,
    callerId,
    weight: 1,
    reservedShare: 0,
    maxWaitMs: 2000,
    maxQueued: 32,
    fairness: { activeWindowMs: 5000, forgetCallerMs: 300_000, lookaheadMs: 0.2, maxReservedShareTotal: 0.5 },
    knownEpoch: '',
    lossGuardMs: 1000,
    idleTtlMs: 60_000,
  };
}

const NOOP_SCRIPT = defineLuaScript('bench-noop', 'return 1');
/** Commands of the bench's own out-of-band connections, not of a reservation. */
const ADMIN_COMMAND = /^(info|config|client|ping|quit|hello|command|select|keys|memory|flushall|scan)\b/;

interface Spread {
  medianUs: number;
  minUs: number;
  maxUs: number;
}

interface Point {
  callers: number;
  fillSec: number;
  reservation: Spread;
  /** Redis's own time in the script (INFO commandstats usec of evalsha), without the round trip. */
  scriptInRedis: Spread;
  noopEvalsha: Spread;
  noopInRedis: Spread;
  granted: number;
  rejected: number;
  commandsPerReservation: Record<string, number>;
  commandsPerReservationTotal: number;
  memoryBytes: Record<string, number>;
  /**
   * After every caller's active window has passed: Redis's time for each of the next reservations, while
   * they settle the callers that stopped counting (a bounded number each); the largest and the median.
   */
  afterQuietSpell: { reservations: number; maxUs: number; medianUs: number };
}

/** Calls per reservation of each command a reservation runs (the bench's own commands left out), and their sum. */
function perReservation(
  calls: Record<string, number>,
  reservations: number,
): { commands: Record<string, number>; total: number } {
  const commands: Record<string, number> = {};
  let total = 0;
  for (const [name, n] of Object.entries(calls).sort()) {
    if (ADMIN_COMMAND.test(name)) continue;
    commands[name] = Math.round((n / reservations) * 100) / 100;
    total += n / reservations;
  }
  return { commands, total };
}

/** Total µs Redis spent in EVALSHA since the last CONFIG RESETSTAT. */
function evalshaUsec(commandstats: string): number {
  return Number(/^cmdstat_evalsha:calls=\d+,usec=(\d+)/m.exec(commandstats)?.[1] ?? NaN);
}

function spread(valuesUs: number[]): Spread {
  const sorted = [...valuesUs].sort((a, b) => a - b);
  const round = (x: number): number => Math.round(x * 10) / 10;
  return {
    medianUs: round(sorted[Math.floor(sorted.length / 2)]!),
    minUs: round(sorted[0]!),
    maxUs: round(sorted[sorted.length - 1]!),
  };
}

/** Fills the schedule with `n` callers' state, a few reservations in flight (the script runs one at a time anyway). */
async function fill(store: RedisScheduleStore, keys: ScheduleKeys, n: number): Promise<void> {
  const inFlight = 16;
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) {
        const i = next++;
        await store.reserve(keys, reserveInput(`caller-${i}`));
      }
    }),
  );
}

async function measurePoint(
  server: RedisServer,
  connection: RedisConnection,
  n: number,
  options: Options,
  log: (line: string) => void,
): Promise<Point> {
  await server.command('FLUSHALL');
  const store = new RedisScheduleStore({ connection, keyPrefix: 'bench', idleTtlMs: 60_000 });
  const keys = scheduleKeys('bench', 'acct', 'read');
  const fillStart = performance.now();
  await fill(store, keys, n);
  const fillSec = (performance.now() - fillStart) / 1000;
  log(`N=${n}: filled in ${fillSec.toFixed(1)} s`);

  // A mix: a stride through the callers, so consecutive reservations are mostly different callers.
  const stride = n > 7 ? 7919 % n || 1 : 1;
  let cursor = 0;
  let granted = 0;
  let rejected = 0;
  const reservationUs: number[] = [];
  const noopUs: number[] = [];
  const scriptUs: number[] = [];
  const noopInRedisUs: number[] = [];
  let commands: Record<string, number> = {};
  for (let round = 0; round < options.rounds; round += 1) {
    await server.command('CONFIG', 'RESETSTAT');
    let start = performance.now();
    for (let i = 0; i < options.reservations; i += 1) {
      cursor = (cursor + stride) % n;
      const reply = await store.reserve(keys, reserveInput(`caller-${cursor}`));
      if (reply.kind === 'granted') granted += 1;
      else rejected += 1;
    }
    reservationUs.push(((performance.now() - start) * 1000) / options.reservations);
    // Counted for the reservations alone: read before the no-op round trips.
    const stats = String(await server.command('INFO', 'commandstats'));
    const scriptUsec = evalshaUsec(stats);
    scriptUs.push(scriptUsec / options.reservations);
    if (round === 0) commands = parseCommandStats(stats);
    start = performance.now();
    for (let i = 0; i < options.reservations; i += 1) await connection.runScript(NOOP_SCRIPT, [], []);
    noopUs.push(((performance.now() - start) * 1000) / options.reservations);
    const noopUsec = evalshaUsec(String(await server.command('INFO', 'commandstats'))) - scriptUsec;
    noopInRedisUs.push(noopUsec / options.reservations);
  }

  const { commands: commandsPerReservation, total } = perReservation(commands, options.reservations);
  const afterQuietSpell = await measureQuietSpell(server, store, keys, n);
  const memoryBytes: Record<string, number> = {};
  const scheduleKeyNames = (await server.command('KEYS', `${keys.id}:*`)) as string[];
  for (const key of scheduleKeyNames.sort())
    memoryBytes[key.slice(keys.id.length + 1)] = Number(await server.command('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
  return {
    callers: n,
    fillSec: Math.round(fillSec * 10) / 10,
    reservation: spread(reservationUs),
    scriptInRedis: spread(scriptUs),
    noopEvalsha: spread(noopUs),
    noopInRedis: spread(noopInRedisUs),
    granted,
    rejected,
    commandsPerReservation,
    commandsPerReservationTotal: Math.round(total * 100) / 100,
    memoryBytes,
    afterQuietSpell,
  };
}

/** One busy caller's reservations sent together: what each costs Redis in a `reserve-many` of `size`. */
interface BatchPoint {
  size: number;
  /** Redis's own time in the script per reservation. */
  scriptInRedis: Spread;
  granted: number;
  rejected: number;
  commandsPerReservation: Record<string, number>;
}

/** The batch sizes measured: one in flight goes alone; under load a replica sends what arrived meanwhile. */
const BATCH_SIZES = [1, 4, 16, 32];

/**
 * A replica under load sends a busy caller's reservations together (rate-schedule.md §3): the script's
 * fixed work is shared, its work per reservation is not. On a schedule at 100,000/s (the overhead
 * bench's), so that a batch of 32 is granted, not queued behind the last one.
 */
async function measureBatches(
  server: RedisServer,
  connection: RedisConnection,
  options: Options,
  log: (line: string) => void,
): Promise<BatchPoint[]> {
  const input: CalendarReserveInput = { ...reserveInput('busy'), intervalMs: 0.01 };
  const points: BatchPoint[] = [];
  for (const size of BATCH_SIZES) {
    await server.command('FLUSHALL');
    const store = new RedisScheduleStore({ connection, keyPrefix: 'bench-batch', idleTtlMs: 60_000 });
    const keys = scheduleKeys('bench-batch', 'acct', 'read');
    const calls = Math.max(1, Math.round(options.reservations / size));
    const inputs = Array.from({ length: size }, () => input);
    let granted = 0;
    let rejected = 0;
    const scriptUs: number[] = [];
    let commands: Record<string, number> = {};
    for (let round = 0; round < options.rounds; round += 1) {
      await server.command('CONFIG', 'RESETSTAT');
      for (let i = 0; i < calls; i += 1) {
        for (const reply of await store.reserveInOrder(keys, inputs)) {
          if (reply.kind === 'granted') granted += 1;
          else rejected += 1;
        }
      }
      const stats = String(await server.command('INFO', 'commandstats'));
      scriptUs.push(evalshaUsec(stats) / (calls * size));
      if (round === 0) commands = perReservation(parseCommandStats(stats), calls * size).commands;
    }
    const point = { size, scriptInRedis: spread(scriptUs), granted, rejected, commandsPerReservation: commands };
    log(`batches of ${size}: ${point.scriptInRedis.medianUs} µs per reservation in Redis`);
    points.push(point);
  }
  return points;
}

/** Every caller stops counting after the active window: times the reservations that settle them. */
async function measureQuietSpell(
  server: RedisServer,
  store: RedisScheduleStore,
  keys: ScheduleKeys,
  n: number,
): Promise<Point['afterQuietSpell']> {
  await new Promise((resolve) => setTimeout(resolve, reserveInput('').fairness.activeWindowMs + 200));
  const reservations = 60;
  const us: number[] = [];
  for (let i = 0; i < reservations; i += 1) {
    await server.command('CONFIG', 'RESETSTAT');
    await store.reserve(keys, reserveInput(`caller-${(i * 7919) % n}`));
    us.push(evalshaUsec(String(await server.command('INFO', 'commandstats'))));
  }
  const sorted = [...us].sort((a, b) => a - b);
  return { reservations, maxUs: sorted[sorted.length - 1]!, medianUs: sorted[Math.floor(sorted.length / 2)]! };
}

function formatTable(points: readonly Point[], batches: readonly BatchPoint[], options: Options): string {
  const lines = [
    `schedule script: µs per reservation, median of ${options.rounds} rounds of ${options.reservations} (min–max), one in flight`,
    'callers   reservation µs           in Redis µs          noop EVALSHA µs     noop in Redis µs  Redis cmds/res   schedule keys (MEMORY USAGE)',
  ];
  for (const p of points) {
    const res = `${p.reservation.medianUs} (${p.reservation.minUs}–${p.reservation.maxUs})`;
    const inRedis = `${p.scriptInRedis.medianUs} (${p.scriptInRedis.minUs}–${p.scriptInRedis.maxUs})`;
    const noop = `${p.noopEvalsha.medianUs} (${p.noopEvalsha.minUs}–${p.noopEvalsha.maxUs})`;
    const noopIn = `${p.noopInRedis.medianUs} (${p.noopInRedis.minUs}–${p.noopInRedis.maxUs})`;
    const mem = Object.entries(p.memoryBytes)
      .map(([k, v]) => `${k} ${(v / 1024).toFixed(1)} KB`)
      .join(', ');
    lines.push(
      `${String(p.callers).padEnd(9)} ${res.padEnd(24)} ${inRedis.padEnd(20)} ${noop.padEnd(19)} ${noopIn.padEnd(17)} ${String(p.commandsPerReservationTotal).padEnd(16)} ${mem}`,
    );
  }
  for (const p of points)
    lines.push(`  N=${p.callers} commands per reservation: ${JSON.stringify(p.commandsPerReservation)}`);
  for (const p of points) {
    const q = p.afterQuietSpell;
    lines.push(
      `  N=${p.callers} after a quiet spell (every caller stops counting), next ${q.reservations} reservations in Redis: max ${q.maxUs} µs, median ${q.medianUs} µs`,
    );
  }
  lines.push('one busy caller, its reservations sent together (reserve-many): in Redis µs per reservation');
  for (const b of batches) {
    const total = Object.values(b.commandsPerReservation).reduce((sum, n) => sum + n, 0);
    lines.push(
      `  ${String(b.size).padStart(2)} per call: ${b.scriptInRedis.medianUs} (${b.scriptInRedis.minUs}–${b.scriptInRedis.maxUs}), ${total.toFixed(2)} commands per reservation, ${b.granted} granted, ${b.rejected} refused`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const options = optionsOrExit('bench:script', parseArgs(process.argv.slice(2)), USAGE);
  if (!options) return;
  const log = (line: string): void => void process.stderr.write(`  ${line}\n`);
  const server = await startRedisServer();
  const connection = createRedisConnection({ url: server.url, commandTimeoutMs: 10_000 });
  try {
    await new Promise<void>((resolve) => {
      if (connection.status() === 'ready') resolve();
      else connection.onStatusChange((s) => s === 'ready' && resolve());
    });
    const startedAt = new Date();
    const points: Point[] = [];
    for (const n of options.callers) points.push(await measurePoint(server, connection, n, options, log));
    const batches = await measureBatches(server, connection, options, log);
    const report = {
      bench: 'schedule-script',
      startedAt: startedAt.toISOString(),
      reservationsPerRound: options.reservations,
      rounds: options.rounds,
      machine: machineInfo(),
      points,
      batches,
    };
    fs.mkdirSync(path.dirname(options.outFile), { recursive: true });
    fs.writeFileSync(options.outFile, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(
      `${formatTable(points, batches, options)}\n\nsaved ${path.relative(process.cwd(), options.outFile)}\n`,
    );
  } finally {
    await connection.close();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:script: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
