/**
 * No container engine runs here, so the deployment files are checked against the code instead:
 * referenced files exist, ports and paths match the policy, probes hit real endpoints.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { parsePolicy } from '../../../src/gateway/policy';

const root = path.resolve(__dirname, '../../..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

interface ComposeService {
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  expose?: string[];
  healthcheck?: { test: string[] };
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };
const gateway = compose.services.gateway!;
const sandbox = compose.services.sandbox!;

function flag(command: string[] | undefined, name: string): string | undefined {
  const at = command?.indexOf(name) ?? -1;
  return at >= 0 ? command![at + 1] : undefined;
}

describe('docker-compose.yml', () => {
  const configFile = flag(gateway.command, '--config')!;

  it('builds from a Dockerfile that exists', () => {
    for (const service of [gateway, sandbox]) expect(fs.existsSync(path.join(root, service.build!.context, service.build!.dockerfile))).toBe(true);
  });

  it('runs the gateway on a policy that exists and resolves with the environment compose gives it', () => {
    expect(configFile).toBeDefined();
    const result = parsePolicy(read(configFile), path.join(root, configFile), {
      readEnv: (name) => gateway.environment?.[name],
      readFile: (file) => fs.readFileSync(file, 'utf8'),
    });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const { policy } = result;
    expect(gateway.ports).toEqual(expect.arrayContaining([`${policy.listen.port}:${policy.listen.port}`, `127.0.0.1:${policy.listen.adminPort}:${policy.listen.adminPort}`]));
    // The upstream is the sandbox service, on the port its command binds.
    const upstream = new URL(policy.upstream.baseUrl);
    expect(upstream.hostname).toBe('sandbox');
    expect(upstream.port).toBe(flag(sandbox.command, '--port'));
    expect(sandbox.expose).toContain(upstream.port);
    expect(flag(sandbox.command, '--host')).toBe('0.0.0.0');
    expect(policy.listen.host).toBe('0.0.0.0');
    // Health checks probe endpoints that exist, on the ports that serve them.
    expect(gateway.healthcheck!.test.join(' ')).toContain(`127.0.0.1:${policy.listen.adminPort}/readyz`);
    expect(sandbox.healthcheck!.test.join(' ')).toContain(`127.0.0.1:${upstream.port}/api/v1/health`);
  });

  it('gives the gateway the shared schedule on the compose Redis', () => {
    const redis = compose.services.redis!;
    expect(redis.healthcheck!.test).toContain('ping');
    expect(gateway.environment?.REDIS_URL).toBe('redis://redis:6379');
    expect(Number(gateway.environment?.GATEWAY_REPLICAS)).toBeGreaterThanOrEqual(1);
  });

  it('runs entry points that the build produces', () => {
    for (const service of [gateway, sandbox]) {
      const entry = service.command![1]!;
      expect(entry).toMatch(/^dist\/.+\.js$/);
      expect(fs.existsSync(path.join(root, entry.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts')))).toBe(true);
    }
  });
});

describe('deploy/Dockerfile', () => {
  const dockerfile = read('deploy/Dockerfile');

  it('copies only files that exist', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(fs.existsSync(path.join(root, source))).toBe(true);
  });

  it('runs as a non-root user with production dependencies only', () => {
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/HEALTHCHECK .*\/healthz/);
  });
});
