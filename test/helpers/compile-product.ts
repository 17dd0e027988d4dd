/**
 * Compiles the product (`tsconfig.build.json`) into a test's own directory, so CLI tests run the
 * compiled program as a user would without touching `dist/` (another test or `npm start` may use it).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

export function compileProductInto(outDir: string): void {
  compileProjectInto('tsconfig.build.json', outDir);
}

/** The benches' own build (`bench/tsconfig.json`), for the bench smoke tests. */
export function compileBenchInto(outDir: string): void {
  compileProjectInto('bench', outDir);
}

function compileProjectInto(project: string, outDir: string): void {
  execFileSync(
    process.execPath,
    [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, project), '--outDir', outDir],
    { stdio: 'inherit' },
  );
}
