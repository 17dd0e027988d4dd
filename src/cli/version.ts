/** `--version`: the package's own version, read from package.json two levels up (from src/cli and dist/cli alike). */
import fs from 'node:fs';
import path from 'node:path';

export function packageVersion(): string {
  const text = fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}
