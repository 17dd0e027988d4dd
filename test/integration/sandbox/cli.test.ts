/** The CLI entry in-process: runCli with explicit argv/env, a real socket on port 0. */
import { runCli, type CliIo } from '../../../src/sandbox/cli';

function capture(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (t: string) => void (io.stdout += t),
    err: (t: string) => void (io.stderr += t),
  };
  return io;
}

describe('runCli', () => {
  it('starts, prints the URL and the demo keys, serves, and closes', async () => {
    const io = capture();
    const result = await runCli(
      ['--port', '0', '--log-level', 'silent', '--profile', 'current', '--window=sliding'],
      {},
      io,
    );
    if (result.kind !== 'running') throw new Error(io.stderr);
    try {
      expect(io.stdout).toContain(`Strettch sandbox listening on ${result.sandbox.url}`);
      expect(io.stdout).toContain(`${result.sandbox.url}/api/v1`);
      expect(io.stdout).toMatch(/sandbox-owner-key\s+team-a\s+owner/);
      expect(io.stdout).toContain('current profile, 2 requests/s per key, sliding window');
      const health = await fetch(`${result.sandbox.apiBaseUrl}/health`);
      expect(health.status).toBe(200);
    } finally {
      await result.sandbox.close();
    }
  });

  it('takes extra keys from the environment and prints only their labels', async () => {
    const io = capture();
    const result = await runCli(
      ['--port', '0', '--log-level', 'silent', '--no-demo-keys'],
      { STRETTCH_SANDBOX_KEYS: 'env-secret-key-1:ops:admin' },
      io,
    );
    if (result.kind !== 'running') throw new Error(io.stderr);
    try {
      expect(io.stdout).not.toContain('env-secret-key-1');
      expect(io.stdout).not.toContain('sandbox-owner-key  ');
      expect(io.stdout).toMatch(/Extra keys: ops:admin:[0-9a-f]{8}/);
      const ok = await fetch(`${result.sandbox.apiBaseUrl}/regions`, {
        headers: { authorization: 'Bearer env-secret-key-1' },
      });
      const demo = await fetch(`${result.sandbox.apiBaseUrl}/regions`, {
        headers: { authorization: 'Bearer sandbox-owner-key' },
      });
      expect([ok.status, demo.status]).toEqual([200, 401]);
    } finally {
      await result.sandbox.close();
    }
  });

  it.each([
    [['--bogus'], /unknown flag --bogus/],
    [['--port'], /--port needs a value/],
    [['--profile', 'fast'], /--profile: must be one of launch, current/],
    [['--read-limit', '3', '--profile', 'current'], /limits.readPerSecond: the current profile has no read limit/],
    [['--keys', 'short:t:owner'], /--keys: entry 1: key must be/],
  ])('%j → exit 2 with a clear message', async (argv, message) => {
    const io = capture();
    expect(await runCli(argv, {}, io)).toEqual({ kind: 'exit', code: 2 });
    expect(io.stderr).toMatch(message);
  });

  it('--help prints the flags and exits 0', async () => {
    const io = capture();
    expect(await runCli(['--help'], {}, io)).toEqual({ kind: 'exit', code: 0 });
    expect(io.stdout).toContain('--window-phase-ms');
    expect(io.stdout).toContain('STRETTCH_SANDBOX_KEYS');
  });

  it('a taken port exits 1', async () => {
    const io = capture();
    const first = await runCli(['--port', '0', '--log-level', 'silent'], {}, io);
    if (first.kind !== 'running') throw new Error(io.stderr);
    try {
      const second = await runCli(['--port', String(first.sandbox.port), '--log-level', 'silent'], {}, io);
      expect(second).toEqual({ kind: 'exit', code: 1 });
      expect(io.stderr).toMatch(/cannot start/);
    } finally {
      await first.sandbox.close();
    }
  });
});
