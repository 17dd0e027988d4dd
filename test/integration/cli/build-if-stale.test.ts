/**
 * scripts/build-if-stale.js: `npm start` and `npm run token` compile only when the tree changed.
 * Run on a tiny project of its own, with a stand-in `tsc` (writes dist/cli/main.js, fails on a
 * source containing FAIL), so each build takes a moment and the test judges the script alone.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '../../..');
let project: string;

const write = (file: string, text: string) => {
  fs.mkdirSync(path.dirname(path.join(project, file)), { recursive: true });
  fs.writeFileSync(path.join(project, file), text);
};
const script = () => path.join(project, 'scripts', 'build-if-stale.js');
/** 0: fresh, 1: a build would run. */
const check = () => spawnSync(process.execPath, [script(), '--check']).status;
const build = () => execFileSync(process.execPath, [script()], { stdio: 'pipe' });
/** Moves a file's mtime into the future, as an edit or a `git checkout` after the build would. */
const touchLater = (file: string) => {
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(path.join(project, file), later, later);
};

beforeEach(() => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-stale-'));
  write('scripts/build-if-stale.js', fs.readFileSync(path.join(root, 'scripts', 'build-if-stale.js'), 'utf8'));
  write(
    'node_modules/typescript/bin/tsc',
    `const fs = require('node:fs');
if (fs.readFileSync('src/cli/main.ts', 'utf8').includes('FAIL')) process.exit(2);
fs.mkdirSync('dist/cli', { recursive: true });
fs.writeFileSync('dist/cli/main.js', '');
`,
  );
  write('node_modules/typescript/package.json', '{ "name": "typescript" }\n');
  write('package.json', '{ "name": "p", "private": true }\n');
  write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'commonjs', strict: true } }));
  write(
    'tsconfig.build.json',
    JSON.stringify({
      extends: './tsconfig.json',
      compilerOptions: { rootDir: 'src', outDir: 'dist' },
      include: ['src'],
    }),
  );
  write('src/cli/main.ts', 'export const answer: number = 42;\n');
});

afterEach(() => fs.rmSync(project, { recursive: true, force: true }));

it('builds a fresh clone (no dist), then skips an unchanged tree', () => {
  expect(check()).toBe(1);
  build();
  expect(fs.existsSync(path.join(project, 'dist', 'cli', 'main.js'))).toBe(true);
  expect(check()).toBe(0);
}, 30_000);

it.each([
  ['an edited source file', () => touchLater('src/cli/main.ts')],
  ['a changed tsconfig', () => touchLater('tsconfig.json')],
  ['a changed package.json', () => touchLater('package.json')],
  ['a new source file', () => write('src/cli/extra.ts', 'export {};\n')],
  ['a deleted source file, whose neighbours keep old mtimes', () => fs.rmSync(path.join(project, 'src/cli/old.ts'))],
  ['a removed dist', () => fs.rmSync(path.join(project, 'dist'), { recursive: true })],
])(
  'rebuilds after %s',
  (_name, change) => {
    write('src/cli/old.ts', 'export {};\n');
    build();
    expect(check()).toBe(0);
    change();
    expect(check()).toBe(1);
    build();
    expect(check()).toBe(0);
  },
  60_000,
);

it('keeps the tree stale when the build fails, so the next start tries again', () => {
  write('src/cli/main.ts', 'FAIL\n');
  expect(spawnSync(process.execPath, [script()], { stdio: 'pipe' }).status).not.toBe(0);
  expect(check()).toBe(1);
}, 30_000);

it('builds from clean when a source was removed, so its old output does not linger in dist', () => {
  write('src/cli/old.ts', 'export {};\n');
  build();
  write('dist/cli/old.js', ''); // what tsc wrote for old.ts
  fs.rmSync(path.join(project, 'src/cli/old.ts'));
  build();
  expect(fs.existsSync(path.join(project, 'dist', 'cli', 'old.js'))).toBe(false);
  expect(fs.existsSync(path.join(project, 'dist', 'cli', 'main.js'))).toBe(true);
}, 30_000);

it('keeps the output of an unchanged set of sources (an edit rebuilds in place)', () => {
  build();
  write('dist/cli/kept.js', '');
  touchLater('src/cli/main.ts');
  build();
  expect(fs.existsSync(path.join(project, 'dist', 'cli', 'kept.js'))).toBe(true);
}, 30_000);
