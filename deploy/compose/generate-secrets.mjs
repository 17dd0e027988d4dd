// Compose service `secrets`: writes the demo token secret into the shared volume once, at random,
// so that no secret value is in the repository (a value in docker-compose.yml would be known to
// anyone who read it, and the gateway refuses such values). Plain Node 20, no dependencies.
// Usage: node generate-secrets.mjs <directory>
/* global process, console */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
if (!dir) throw new Error('usage: node generate-secrets.mjs <directory>');
fs.mkdirSync(dir, { recursive: true });
const file = path.join(dir, 'jwt-hs-secret');
// Kept across restarts of the stack, so tokens already minted stay valid; `docker compose down -v` rotates it.
if (fs.existsSync(file)) console.log(`kept ${file}`);
else {
  // Readable by the gateways and the load generator, which run as other users; the volume is private to the stack.
  fs.writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o444 });
  console.log(`generated ${file}`);
}
