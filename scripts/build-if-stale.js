#!/usr/bin/env node
/**
 * Compiles `src` into `dist` only when something it is built from changed since the last successful
 * build, so `npm start` and `npm run token` on an unchanged tree skip a full `tsc` (about 10 s).
 * Run as a script (`presandbox`), or preloaded in the command's own process
 * (`node -r ./scripts/build-if-stale.js dist/cli/main.js`), which saves a second Node start.
 *
 * Stale when: no stamp (a fresh clone, or `dist` removed), or a file under `src/` (or tsconfig*.json,
 * package.json, package-lock.json) is newer than the stamp, or the set of files under `src/` changed
 * (a deletion or a rename keeps mtimes old). The stamp is written only after `tsc` succeeds. Plain
 * Node without dependencies: it runs before anything is compiled.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const stampPath = path.join(root, 'dist', '.build-stamp.json');
const inputs = ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];

/** Every file under `dir`, relative to the root, with the newest mtime seen. */
function walk(dir, files) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, files);
    else if (entry.isFile()) files.push(full);
  }
  return files;
}

function treeState() {
  const files = walk(path.join(root, 'src'), []);
  let newestMs = 0;
  for (const file of [...files, ...inputs.map((name) => path.join(root, name))]) {
    try {
      newestMs = Math.max(newestMs, fs.statSync(file).mtimeMs);
    } catch {
      // an optional input (package-lock.json) may be absent
    }
  }
  const names = files.map((file) => path.relative(root, file)).sort();
  return { newestMs, fileList: names.join('\n') };
}

function readStamp() {
  try {
    return JSON.parse(fs.readFileSync(stampPath, 'utf8'));
  } catch {
    return undefined;
  }
}

function main() {
  const before = treeState();
  const stamp = readStamp();
  const fresh =
    stamp !== undefined &&
    before.newestMs <= stamp.builtFromMs &&
    before.fileList === stamp.fileList &&
    fs.existsSync(path.join(root, 'dist', 'cli', 'main.js'));
  // `--check` (run as a script, not preloaded): only say, by the exit code (0 fresh, 1 stale), whether a
  // build would run. Preloaded, argv is the command's own.
  if (require.main === module && process.argv[2] === '--check') return fresh ? 0 : 1;
  if (fresh) return 0;
  // tsc never deletes: a source removed or renamed since the last build (or output from before stamps
  // existed, such as the old dist/bench) would linger in dist. Such a tree is built from clean.
  if (stamp === undefined || before.fileList !== stamp.fileList) {
    fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  }
  const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
    cwd: root,
  });
  if (result.status !== 0) return result.status ?? 1;
  // The state read before compiling: an edit made during the build leaves the next run stale.
  fs.mkdirSync(path.dirname(stampPath), { recursive: true });
  fs.writeFileSync(stampPath, JSON.stringify({ builtFromMs: before.newestMs, fileList: before.fileList }));
  return 0;
}

const code = main();
if (code !== 0) process.exit(code);
