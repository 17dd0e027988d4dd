/**
 * The Redis that compose and the Kubernetes dev overlay run keeps the compute ledger across a crash:
 * a real `redis-server` started with exactly the arguments each file gives it (its data directory
 * moved to a temporary one), a record written, the process killed with SIGKILL, started again with
 * the same arguments: the record is there. The arguments compose had before (no persistence) lose
 * it, so the check tells the two apart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, redisCommand } from '../../helpers/redis-server';
import { kubernetesCopyWithDevSecrets, loadCompose, renderKustomization } from './deploy-files';

interface RedisContainer {
  image: string;
  command: string[];
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface StatefulSet {
  spec: {
    template: { spec: { containers: RedisContainer[] } };
    volumeClaimTemplates: Array<{ metadata: { name: string }; spec: { accessModes: string[] } }>;
  };
}

const composeRedis = loadCompose().services.redis!;
const k8sCopy = kubernetesCopyWithDevSecrets();
afterAll(() => fs.rmSync(k8sCopy, { recursive: true, force: true }));
const statefulSet = renderKustomization(path.join(k8sCopy, 'overlays/dev')).find(
  (m) => m.manifest.kind === 'StatefulSet' && m.manifest.metadata.name === 'redis',
)!.manifest as unknown as StatefulSet;
const k8sRedis = statefulSet.spec.template.spec.containers[0]!;

/** `redis-server <args>` with its `--dir` moved to `dir` and a free loopback port added. */
function serverArgs(command: readonly string[], dir: string, port: number): string[] {
  expect(command[0]).toBe('redis-server');
  const args = [...command.slice(1)];
  const at = args.indexOf('--dir');
  if (at >= 0) args[at + 1] = dir;
  else args.push('--dir', dir);
  return [...args, '--port', String(port), '--bind', '127.0.0.1'];
}

const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

async function start(args: string[], port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  running.push(child);
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      if ((await redisCommand(port, ['PING'], 500)) === 'PONG') return child;
    } catch {
      // not up yet
    }
    if (child.exitCode !== null) throw new Error(`redis-server ${args.join(' ')} exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`redis-server ${args.join(' ')} did not answer PING`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function crash(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** A ledger-like record written, the server killed (no shutdown save) and started again: what is left. */
async function survivesCrash(command: readonly string[]): Promise<string | null> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-redis-durable-'));
  try {
    const port = await freePort();
    const args = serverArgs(command, dir, port);
    const child = await start(args, port);
    expect(await redisCommand(port, ['SET', '{ledger:prod}:compute:325', 'provisioner'])).toBe('OK');
    await crash(child);
    await start(args, port);
    return (await redisCommand(port, ['GET', '{ledger:prod}:compute:325'])) as string | null;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('Redis for the compute ledger, as the deployment files run it', () => {
  it('compose: a record written before a crash is there after the restart', async () => {
    expect(await survivesCrash(composeRedis.command!)).toBe('provisioner');
  }, 60_000);

  it('Kubernetes dev overlay: the same, and a full Redis refuses writes rather than evicting records', async () => {
    expect(await survivesCrash(k8sRedis.command)).toBe('provisioner');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-redis-durable-'));
    try {
      const port = await freePort();
      await start(serverArgs(k8sRedis.command, dir, port), port);
      expect(await redisCommand(port, ['CONFIG', 'GET', 'maxmemory-policy'])).toEqual([
        'maxmemory-policy',
        'noeviction',
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('the arguments compose had before (no persistence) lose the record: the check can fail', async () => {
    expect(await survivesCrash(['redis-server', '--save', '', '--appendonly', 'no'])).toBeNull();
  }, 60_000);

  it('keeps the data on a volume: compose a named volume, Kubernetes a PersistentVolumeClaim per pod', () => {
    const dirOf = (command: readonly string[]) => command[command.indexOf('--dir') + 1];
    expect(composeRedis.volumes).toEqual([`redis-data:${dirOf(composeRedis.command!)}`]);
    const [claim] = statefulSet.spec.volumeClaimTemplates;
    expect(claim!.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(k8sRedis.volumeMounts).toEqual([{ name: claim!.metadata.name, mountPath: dirOf(k8sRedis.command) }]);
    // One Redis release for both.
    expect(k8sRedis.image).toBe(composeRedis.image);
  });
});
