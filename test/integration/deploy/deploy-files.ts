/** Reading the deployment files for the tests beside this one; no container engine runs here. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { parsePolicy, type Policy, type PolicyIo } from '../../../src/gateway/policy';
import { SETTINGS_ENV_NAMES } from '../../../src/gateway/settings';

export const root = path.resolve(__dirname, '../../..');
export const read = (file: string): string => fs.readFileSync(path.join(root, file), 'utf8');
export const exists = (file: string): boolean => fs.existsSync(path.join(root, file));
export const readYaml = <T>(file: string): T => parse(read(file), { merge: true }) as T;

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] };
}
export interface Compose {
  services: Record<string, ComposeService>;
}

export const loadCompose = (): Compose => readYaml<Compose>('docker-compose.yml');

/** The compose services that run the gateway, by name. */
export function gatewayServices(compose: Compose): Array<[string, ComposeService]> {
  return Object.entries(compose.services).filter(([, s]) => s.command?.[1] === 'dist/cli/main.js');
}

export function flag(command: readonly string[] | undefined, name: string): string | undefined {
  const at = command?.indexOf(name) ?? -1;
  return at >= 0 ? command![at + 1] : undefined;
}

/** A bind mount `./host:container[:ro]` as paths relative to the repository and in the container. */
export function bindMounts(service: ComposeService): Array<{ host: string; container: string }> {
  return (service.volumes ?? [])
    .filter((volume) => /^\.{0,2}\//.test(volume))
    .map((volume) => {
      const [host, container] = volume.split(':') as [string, string];
      return { host: path.normalize(host), container };
    });
}

/** A named volume `name:container[:ro]` (not a repository file). */
export function namedVolumeMounts(
  service: ComposeService,
): Array<{ volume: string; container: string; mode?: string }> {
  return (service.volumes ?? [])
    .filter((volume) => !/^\.{0,2}\//.test(volume))
    .map((volume) => {
      const [name, container, mode] = volume.split(':') as [string, string, string | undefined];
      return { volume: name, container, ...(mode !== undefined ? { mode } : {}) };
    });
}

/**
 * Runs compose's `secrets` service script for real into a fresh directory, standing in for the
 * volume it writes: what the gateways and the load generator then read.
 */
export function generateComposeSecrets(compose: Compose): string {
  const service = compose.services.secrets!;
  const script = bindMounts(service).find((m) => m.container === service.command![1])!.host;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-compose-secrets-'));
  execFileSync(process.execPath, [path.join(root, script), dir], { stdio: 'ignore' });
  return dir;
}

/** Reads a container path of `service` from the generated secrets when it lies in a named volume. */
export function volumeFileReader(service: ComposeService, volumeDir: string): (file: string) => string {
  return (file) => {
    for (const { container } of namedVolumeMounts(service))
      if (file.startsWith(`${container}/`))
        return fs.readFileSync(path.join(volumeDir, file.slice(container.length + 1)), 'utf8');
    throw Object.assign(new Error(`${file} is in no volume`), { code: 'ENOENT' });
  };
}

/** Kubernetes manifests as a kustomization renders them (`kubectl kustomize`). */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export function renderKustomization(dir: string): Array<{ file: string; manifest: Manifest }> {
  const rendered = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(rendered).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${dir}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const manifest = doc.toJS() as Manifest;
    return { file: `${manifest.kind}/${manifest.metadata.name}`, manifest };
  });
}

/** The policy the compose gateways run, resolved with the environment and the volume compose gives them. */
export function composePolicy(compose: Compose, secretsDir: string): Policy {
  const [, gateway] = gatewayServices(compose)[0]!;
  const configFile = flag(gateway.command, '--config')!;
  return resolvedPolicy(read(configFile), path.join(root, configFile), {
    readEnv: (name) => gateway.environment?.[name],
    readFile: volumeFileReader(gateway, secretsDir),
  });
}

export function resolvedPolicy(text: string, sourcePath: string, io: PolicyIo): Policy {
  const result = parsePolicy(text, sourcePath, io);
  if (!result.ok) throw new Error(`${sourcePath}: ${JSON.stringify(result.errors)}`);
  return result.policy;
}

/** The environment variables the gateway reads: its settings (src/gateway/settings.ts), read by the CLI entries. */
export function cliEnvNames(): Set<string> {
  // The gateway's settings schema names every variable it reads; the scan finds any the CLI reads itself.
  const names = new Set<string>(SETTINGS_ENV_NAMES);
  for (const file of fs.readdirSync(path.join(root, 'src/cli')).filter((f) => f.endsWith('.ts'))) {
    for (const [, name] of read(path.join('src/cli', file)).matchAll(/\b(?:process\.)?env\.([A-Z_][A-Z0-9_]*)/g))
      names.add(name!);
  }
  return names;
}

/** Names a policy reads with `{env: NAME}`. */
export const policyEnvNames = (policyText: string): Set<string> =>
  new Set([...policyText.matchAll(/\{\s*env:\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}/g)].map((m) => m[1]!));

/** `container` entry points are `dist/….js` files that the build makes from `src/….ts`. */
export const sourceOfEntry = (entry: string): string => entry.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts');

/** One instruction of a Dockerfile: `COPY --from=build /app/dist ./dist` → { op: 'COPY', args: [...] }. */
export interface DockerInstruction {
  op: string;
  args: string[];
  /** The exec form (`CMD ["node", …]`) as its array. */
  exec?: string[];
}

/** The Dockerfile's stages in order, each its instructions (continuation lines joined, comments dropped). */
export function parseDockerfile(
  text: string,
): Array<{ from: string; name?: string; instructions: DockerInstruction[] }> {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const stages: Array<{ from: string; name?: string; instructions: DockerInstruction[] }> = [];
  for (const line of lines.map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))) {
    const [, op, rest] = /^(\S+)\s+(.*)$/.exec(line)!;
    const instruction: DockerInstruction = { op: op!.toUpperCase(), args: rest!.split(/\s+/) };
    const execForm = /(\[.*\])\s*$/.exec(rest!);
    if (execForm && ['CMD', 'ENTRYPOINT', 'HEALTHCHECK', 'RUN'].includes(instruction.op))
      instruction.exec = JSON.parse(execForm[1]!) as string[];
    if (instruction.op === 'FROM') {
      const [image, as, name] = instruction.args;
      stages.push({ from: image!, ...(as?.toUpperCase() === 'AS' ? { name } : {}), instructions: [] });
    } else stages.at(-1)!.instructions.push(instruction);
  }
  return stages;
}

/** A copy of deploy/kubernetes with the dev overlay's secrets generated by its own script. */
export function kubernetesCopyWithDevSecrets(): string {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-kustomize-'));
  fs.cpSync(path.join(root, 'deploy/kubernetes'), copy, {
    recursive: true,
    filter: (source) => path.basename(source) !== 'secrets',
  });
  execFileSync('sh', [path.join(copy, 'overlays/dev/generate-secrets.sh')], {
    stdio: 'ignore',
    env: { PATH: process.env.PATH! },
  });
  return copy;
}
