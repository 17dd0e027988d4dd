/**
 * Issue #15: a fresh process that loads the scale bench's 10,000-caller policy (760 KB) through
 * `policyFileSource`, as the gateway does at start, keeps less than 50 MB more RSS than before.
 * Parsed in that process, yaml's document model left ~100 MB behind. Run on the compiled product,
 * as the gateway runs, in a process of its own so nothing else has grown its heap.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JWT_SECRET_ENV } from '../../../bench/fleet/policy';
import { planScale, scalePolicyYaml } from '../../../bench/scale/policy';
import { compileProductInto } from '../../helpers/compile-product';

const root = path.resolve(__dirname, '../../..');
const buildDir = path.join(root, '.test-build', 'large-policy-memory');
const MB = 1024 * 1024;
const RETAINED_RSS_LIMIT_MB = 50;

/** Loads the policy, waits a second (the child is gone, the heap settled), prints RSS before and after. */
const MEASURE = `
const policySource = require(process.env.POLICY_SOURCE_MODULE);
const fs = require('node:fs');
const io = { readEnv: (name) => process.env[name], readFile: (file) => fs.readFileSync(file, 'utf8') };
const rssBeforeBytes = process.memoryUsage().rss;
const loaded = policySource.policyFileSource(process.env.POLICY_FILE, io).load();
setTimeout(() => {
  const callers = loaded.ok ? Object.keys(loaded.policy.callers).length : JSON.stringify(loaded.errors);
  process.stdout.write(JSON.stringify({ callers, rssBeforeBytes, rssAfterBytes: process.memoryUsage().rss }));
}, 1000);
`;

let workDir: string;

beforeAll(() => {
  compileProductInto(buildDir);
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-large-policy-'));
}, 180_000);

afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

it(`loading a 10,000-caller policy leaves less than ${RETAINED_RSS_LIMIT_MB} MB of RSS behind`, () => {
  const plan = planScale(10_000, 100);
  const policyFile = path.join(workDir, 'policy.yaml');
  fs.writeFileSync(
    policyFile,
    scalePolicyYaml({
      upstreamBaseUrl: 'http://127.0.0.1:1/api/v1',
      readPerSecond: 100,
      writePerSecond: 10,
      maxWaitMs: 1000,
      plan,
    }),
  );
  const env: Record<string, string> = {
    POLICY_SOURCE_MODULE: path.join(buildDir, 'gateway', 'policy-source.js'),
    POLICY_FILE: policyFile,
    [JWT_SECRET_ENV]: randomBytes(32).toString('hex'),
    ...Object.fromEntries(plan.accounts.map((a) => [a.keyEnv, `sk-${randomBytes(16).toString('hex')}`])),
  };
  const measured = JSON.parse(execFileSync(process.execPath, ['-e', MEASURE], { env, encoding: 'utf8' })) as {
    callers: number | string;
    rssBeforeBytes: number;
    rssAfterBytes: number;
  };
  expect(measured.callers).toBe(10_000);
  expect((measured.rssAfterBytes - measured.rssBeforeBytes) / MB).toBeLessThan(RETAINED_RSS_LIMIT_MB);
}, 60_000);
