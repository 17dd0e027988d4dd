/**
 * What a large policy costs a gateway at start (issue #15), without the scale bench's fleet: for each
 * caller count, the scale bench's policy, and per run two fresh processes of the compiled product —
 * one that only loads the policy as the gateway does (`policyFileSource`), printing RSS and heap
 * before, right after, 1 s later and after a forced GC (for information: a GC frees the heap, not
 * the RSS V8 keeps); and one gateway (`cli/main.js`, no Redis) timed to its "listening" line, its
 * RSS read then and 2 s later. The embedded default's start first, as the baseline of a small policy.
 * Medians over the runs, with the spread.
 *
 *   npm run bench:policy-start -- [--callers 10,10000] [--runs 3] [--dist dist]
 *
 * A measurement, not a test: it prints and exits 0.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { optionsOrExit } from './flags';
import { JWT_SECRET_ENV } from './fleet/policy';
import { parsePolicyStartArgs, POLICY_START_USAGE, type PolicyStartOptions as Options } from './policy-start-options';
import { planScale, scalePolicyYaml } from './scale/policy';

/** Runs in a fresh process: loads the policy as the gateway's start does, prints what it cost. */
const LOAD_SCRIPT = `
const fs = require('node:fs');
const { policyFileSource } = require(process.env.POLICY_SOURCE_MODULE);
const memory = () => { const m = process.memoryUsage(); return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal }; };
const io = { readEnv: (name) => process.env[name], readFile: (file) => fs.readFileSync(file, 'utf8') };
const before = memory();
const startedNs = process.hrtime.bigint();
const loaded = policyFileSource(process.env.POLICY_FILE, io).load();
const loadMs = Number(process.hrtime.bigint() - startedNs) / 1e6;
const after = memory();
if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors.slice(0, 3)));
setTimeout(() => {
  const settled = memory();
  global.gc();
  process.stdout.write(JSON.stringify({ loadMs, before, after, settled, afterGc: memory() }));
}, 1000);
`;

interface Memory {
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
}
interface LoadRun {
  loadMs: number;
  before: Memory;
  after: Memory;
  settled: Memory;
  afterGc: Memory;
}
interface StartRun {
  startMs: number;
  rssListeningBytes: number;
  rssSettledBytes: number;
}

const MB = 1024 * 1024;
const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

function loadRun(options: Options, policyFile: string, env: Record<string, string>): LoadRun {
  const child = spawnSync(process.execPath, ['--expose-gc', '-e', LOAD_SCRIPT], {
    env: {
      ...env,
      POLICY_FILE: policyFile,
      POLICY_SOURCE_MODULE: path.join(options.distDir, 'gateway', 'policy-source.js'),
    },
    encoding: 'utf8',
  });
  if (child.status !== 0) throw new Error(`the load process failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as LoadRun;
}

/** The gateway on `policyFile`, or on the embedded default without one (its dev key kept in `workDir`). */
async function startRun(
  options: Options,
  workDir: string,
  policyFile: string | undefined,
  env: Record<string, string>,
): Promise<StartRun> {
  const startedNs = process.hrtime.bigint();
  const args = policyFile ? ['--config', policyFile] : [];
  const child = spawn(process.execPath, [path.join(options.distDir, 'cli', 'main.js'), ...args], {
    cwd: workDir,
    env: { ...env, PATH: process.env.PATH ?? '', GATEWAY_SINGLE_REPLICA: '1', PORT: '0', ADMIN_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('listening')) resolve();
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`the gateway exited (${code}): ${output.slice(-2000)}`)));
  });
  const startMs = Number(process.hrtime.bigint() - startedNs) / 1e6;
  const rssListeningBytes = rssOf(child.pid!);
  await sleep(2000);
  const rssSettledBytes = rssOf(child.pid!);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  return { startMs, rssListeningBytes, rssSettledBytes };
}

/** Median (the middle run, or the mean of the two middle ones) and range, rounded. */
function spread(values: number[], round: (n: number) => number): string {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return `${round(median)} (${round(sorted[0]!)}–${round(sorted[sorted.length - 1]!)})`;
}

async function main(): Promise<void> {
  const options = optionsOrExit('policy-start', parsePolicyStartArgs(process.argv.slice(2)), POLICY_START_USAGE);
  if (!options) return;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-policy-start-'));
  try {
    const embedded: StartRun[] = [];
    for (let run = 0; run < options.runs; run++) embedded.push(await startRun(options, workDir, undefined, {}));
    process.stdout.write(
      `embedded default, ${options.runs} runs, ${options.distDir}: median (range)\n` +
        `  start: ${spread(
          embedded.map((r) => r.startMs),
          Math.round,
        )} ms to "listening"; RSS ${spread(
          embedded.map((r) => r.rssListeningBytes),
          mb,
        )} MB then\n`,
    );
    for (const callers of options.callers) {
      const plan = planScale(callers, 100);
      const policyFile = path.join(workDir, `policy-${callers}.yaml`);
      const text = scalePolicyYaml({
        upstreamBaseUrl: 'http://127.0.0.1:1/api/v1',
        readPerSecond: 100,
        writePerSecond: 10,
        maxWaitMs: 1000,
        plan,
      });
      fs.writeFileSync(policyFile, text);
      const env: Record<string, string> = {
        [JWT_SECRET_ENV]: randomBytes(32).toString('hex'),
        ...Object.fromEntries(plan.accounts.map((a) => [a.keyEnv, `sk-${randomBytes(16).toString('hex')}`])),
      };
      const loads: LoadRun[] = [];
      const starts: StartRun[] = [];
      // Alternated, so a busy spell of the machine falls on both kinds.
      for (let run = 0; run < options.runs; run++) {
        loads.push(loadRun(options, policyFile, env));
        starts.push(await startRun(options, workDir, policyFile, env));
      }
      const ms = (values: number[]) => spread(values, Math.round);
      const mbs = (values: number[]) => spread(values, mb);
      const growth = (to: (r: LoadRun) => Memory) => mbs(loads.map((r) => to(r).rssBytes - r.before.rssBytes));
      const lines = [
        `${callers} callers, ${Math.round(text.length / 1024)} KB, ${options.runs} runs, ${options.distDir}: median (range)`,
        `  load:  ${ms(loads.map((r) => r.loadMs))} ms; RSS ${mbs(loads.map((r) => r.before.rssBytes))} MB before, ` +
          `growth ${growth((r) => r.after)} MB right after, ${growth((r) => r.settled)} MB 1 s later, ` +
          `${growth((r) => r.afterGc)} MB after a GC (heap used ${mbs(loads.map((r) => r.afterGc.heapUsedBytes))} MB)`,
        `  start: ${ms(starts.map((r) => r.startMs))} ms to "listening"; ` +
          `RSS ${mbs(starts.map((r) => r.rssListeningBytes))} MB then, ${mbs(starts.map((r) => r.rssSettledBytes))} MB 2 s later`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  process.stderr.write(`policy-start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
