/** The scale bench's callers as their own process (one per phase). Protocol: load-protocol.ts. */
import fs from 'node:fs';
import { mintToken } from '../../src/gateway/auth/mint-token';
import { BENCH_AUDIENCE, BENCH_ISSUER, BENCH_KID } from '../fleet/policy';
import { runScaleLoad } from './load';
import {
  SCALE_LOAD_API_KEYS_ENV,
  SCALE_LOAD_JWT_SECRET_ENV,
  SCALE_LOAD_SETTINGS_ENV,
  startedLine,
  type ScaleLoadProcessSettings,
} from './load-protocol';
import { callerId } from './policy';

const TOKEN_LIFETIME_SEC = 3600;

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

/** Request n's Authorization: caller n mod callers' token, or (direct) its account's upstream key. */
function authorizations(settings: ScaleLoadProcessSettings): string[] {
  if (settings.mode === 'direct') {
    const keys = required(SCALE_LOAD_API_KEYS_ENV).split(',');
    // Caller i belongs to account i mod accounts (policy.ts): the same key sequence as through the gateways.
    return Array.from({ length: settings.callers }, (_, i) => `Bearer ${keys[i % settings.accounts]!}`);
  }
  const secret = required(SCALE_LOAD_JWT_SECRET_ENV);
  return Array.from(
    { length: settings.callers },
    (_, i) =>
      `Bearer ${mintToken({
        sub: callerId(i),
        lifetimeSec: TOKEN_LIFETIME_SEC,
        signingKey: secret,
        alg: 'HS256',
        kid: BENCH_KID,
        issuer: BENCH_ISSUER,
        audience: BENCH_AUDIENCE,
        now: Date.now,
      })}`,
  );
}

async function main(): Promise<void> {
  const settings = JSON.parse(fs.readFileSync(required(SCALE_LOAD_SETTINGS_ENV), 'utf8')) as ScaleLoadProcessSettings;
  // Minted before the clock starts: the phase measures the gateways, not the signing.
  const headers = authorizations(settings);
  const result = await runScaleLoad(settings, headers, (startedAtMs) =>
    process.stdout.write(`${startedLine(startedAtMs)}\n`),
  );
  fs.writeFileSync(`${settings.resultFile}.tmp`, JSON.stringify(result));
  fs.renameSync(`${settings.resultFile}.tmp`, settings.resultFile);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`scale load: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
