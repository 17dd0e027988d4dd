/**
 * Reads a large policy's YAML in a short-lived child process (issue #15). yaml's document model of a
 * 10,000-caller policy (760 KB) peaks near 100 MB of heap, and V8 keeps those pages once they are
 * garbage, so a gateway's RSS stayed ~95 MB higher for its whole life. A child's memory all goes back
 * when it exits; only the plain data comes back (V8's structured-clone format, as `structuredClone`
 * copies). A child rather than a worker thread: a worker still left ~12 MB behind in this process
 * (its thread's allocations), and `spawnSync` keeps every loader synchronous.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { LinesOf, PolicyYaml, YamlReply, YamlRequest } from './policy-yaml';

/** A 760 KB policy takes ~2.5 s on a busy machine; a child this slow is stuck, and is killed. */
const CHILD_TIMEOUT_MS = 120_000;
/** The largest reply accepted: a 760 KB policy's data serializes to ~2 MB. */
const MAX_REPLY_BYTES = 512 * 1024 * 1024;

/**
 * A 1 MB young generation (16 MB by default): the child's peak RSS on a 760 KB policy falls from
 * ~153 to ~123 MB at the same speed. That peak adds to the gateway's own (~80 MB at that point)
 * within one container's memory limit.
 */
const CHILD_NODE_FLAGS = ['--max-semi-space-size=1'];

/** The module the child runs: this build's sibling (`.js` from dist, `.ts` from the sources under ts-jest). */
const YAML_MODULE = path.join(__dirname, `policy-yaml${path.extname(__filename)}`);

/**
 * Run from the sources, how the child compiles them: with `typescript` as ts-jest would, and through
 * `compiledDir`, where what it compiled is kept (ignored by git, as every test build).
 */
type FromSources = { typescript: string; compilerOptions: Record<string, unknown>; compiledDir: string };
const fromSources = (): FromSources | undefined =>
  YAML_MODULE.endsWith('.ts')
    ? {
        typescript: require.resolve('typescript'),
        compilerOptions: { module: 'commonjs', target: 'es2022', esModuleInterop: true },
        compiledDir: path.resolve(__dirname, '../../../.test-build/policy-yaml-child'),
      }
    : undefined;

/**
 * The child's code: the request on stdin, the reply on stdout. A failure is a reply too, so the
 * parent tells a bug from a crash. Run from the TypeScript sources (the tests), it first compiles
 * what it requires with `typescript`, a dev dependency present wherever the sources run. Loading
 * `typescript` takes ~0.5 s of CPU, in every child: so each compiled file is kept, named by a hash of
 * its source and of how it was compiled, and a child that finds all it requires never loads it.
 */
const CHILD_SCRIPT = `
const fs = require('node:fs');
const v8 = require('node:v8');
let reply;
try {
  const { yamlModule, fromSources, request } = v8.deserialize(fs.readFileSync(0));
  if (fromSources) {
    const { typescript, compilerOptions, compiledDir } = fromSources;
    const path = require('node:path');
    const { createHash } = require('node:crypto');
    const typescriptPackage = fs.readFileSync(path.join(path.dirname(typescript), '../package.json'), 'utf8');
    const how = JSON.stringify([JSON.parse(typescriptPackage).version, compilerOptions]);
    require.extensions['.ts'] = (module, fileName) => {
      const source = fs.readFileSync(fileName, 'utf8');
      const compiledFile = path.join(compiledDir, createHash('sha256').update(how).update(source).digest('hex') + '.js');
      let compiled;
      try {
        compiled = fs.readFileSync(compiledFile, 'utf8');
      } catch {
        compiled = require(typescript).transpileModule(source, { compilerOptions, fileName }).outputText;
        // Written whole, then renamed: a child running beside this one reads all of it or nothing.
        fs.mkdirSync(compiledDir, { recursive: true });
        fs.writeFileSync(compiledFile + '.' + process.pid, compiled);
        fs.renameSync(compiledFile + '.' + process.pid, compiledFile);
      }
      module._compile(compiled, fileName);
    };
  }
  reply = require(yamlModule).answerYamlRequest(request);
} catch (error) {
  reply = { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
}
process.stdout.write(v8.serialize(reply));
`;

function askChild(request: YamlRequest): YamlReply {
  const child = spawnSync(process.execPath, [...CHILD_NODE_FLAGS, '-e', CHILD_SCRIPT], {
    input: serialize({ yamlModule: YAML_MODULE, fromSources: fromSources(), request }),
    // No environment: the child needs none, and this one holds the secrets (and NODE_OPTIONS preloads).
    env: {},
    timeout: CHILD_TIMEOUT_MS,
    maxBuffer: MAX_REPLY_BYTES,
  });
  if (child.error) throw new Error(`the policy's YAML reader did not run (${child.error.message})`);
  if (child.status !== 0) {
    const lastLine = child.stderr.toString('utf8').trim().split('\n').pop() ?? '';
    const how = child.signal ? `was killed (${child.signal})` : `exited with ${child.status}`;
    throw new Error(`the policy's YAML reader ${how}${lastLine ? `: ${lastLine}` : ''}`);
  }
  const reply = deserialize(child.stdout) as YamlReply;
  if (reply.kind === 'failed') throw new Error(`the policy's YAML reader failed: ${reply.message}`);
  return reply;
}

/** As `readPolicyYaml`, in a child; the lines of paths are asked of a second child, only when a problem needs them. */
export function readPolicyYamlInChild(text: string): PolicyYaml {
  const reply = askChild({ kind: 'read', text });
  if (reply.kind !== 'read') throw new Error(`unexpected "${reply.kind}" reply from the policy's YAML reader`);
  if (!reply.ok) return { ok: false, problems: reply.problems };
  const linesOf: LinesOf = (paths) => {
    if (paths.length === 0) return [];
    const located = askChild({ kind: 'locate', text, paths: [...paths] });
    if (located.kind !== 'locate') throw new Error(`unexpected "${located.kind}" reply from the policy's YAML reader`);
    return located.lines;
  };
  return { ok: true, value: reply.value, linesOf };
}
