/**
 * The worked example of docs/least-privilege.md (config/least-privilege.example.yaml) loads, and what
 * its table says each service gets is what the checks and `explain` say.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { explainRequest } from '../../../src/cli/explain';
import { checkRequestBody, reservedTagViolations } from '../../../src/gateway/least-privilege/constraints';
import { loadPolicyFile, type Policy } from '../../../src/gateway/policy';
import { VALID_CREATE } from '../../helpers/valid-create';

const EXAMPLE = path.join(__dirname, '..', '..', '..', 'config', 'least-privilege.example.yaml');
const env: Record<string, string> = {
  STRETTCH_KEY_PROD: 'sk-example-prod',
  JWT_HS_SECRET: 'hs-secret-0123456789abcdef0123456789abcdef',
};

let policy: Policy;
beforeAll(() => {
  const result = loadPolicyFile(EXAMPLE, {
    readEnv: (name) => env[name],
    readFile: (file) => fs.readFileSync(file, 'utf8'),
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  policy = result.policy;
});

const autoscalerCreate = {
  ...VALID_CREATE,
  region: 'KGL-1',
  image: 'UBUNTU-24.04',
  specification: 'S-1C',
  tags: ['autoscaler'],
  hostName: 'as-1',
  withPublicIp: false,
};

it('loads, with the three services and the account quota', () => {
  expect(Object.keys(policy.callers)).toEqual(['dashboard', 'autoscaler', 'ci-e2e']);
  expect(policy.accounts.prod!.quotas).toEqual({ liveComputes: 40 });
  expect(policy.callers.dashboard!.leastPrivilege).toEqual({ shadow: false });
  expect(policy.callers.autoscaler!.leastPrivilege).toMatchObject({
    ownership: { foreign: 'not-found', ownerTag: true },
    quotas: { liveComputes: 10 },
    shadow: false,
  });
  expect(policy.callers['ci-e2e']!.leastPrivilege).toMatchObject({
    ownership: { foreign: 'forbidden', ownerTag: false },
    quotas: { liveComputes: 3, createsPerHour: 6 },
    shadow: true,
  });
});

it('the autoscaler: the docs’ good create passes, S-4C-8G is refused with the message the docs quote', () => {
  const lp = policy.callers.autoscaler!.leastPrivilege;
  expect(checkRequestBody(lp, 'computes.create', autoscalerCreate)).toEqual([]);
  expect(checkRequestBody(lp, 'computes.create', { ...autoscalerCreate, specification: 'S-4C-8G' })).toEqual([
    {
      constraint: 'create.specifications',
      message: 'specification "S-4C-8G" is not allowed (allowed: "S-1C", "S-1C-1G")',
    },
  ]);
  expect(
    reservedTagViolations({ ...autoscalerCreate, tags: ['autoscaler', 'owner:dashboard'] }).map((v) => v.constraint),
  ).toEqual(['tags.reserved']);
});

it('ci-e2e: the autoscaler’s create breaks its required tag (logged in shadow mode, not denied)', () => {
  expect(
    checkRequestBody(policy.callers['ci-e2e']!.leastPrivilege, 'computes.create', autoscalerCreate).map(
      (v) => v.constraint,
    ),
  ).toEqual(['create.tags.required']);
});

it('explain shows what applies', () => {
  const create = explainRequest(policy, 'autoscaler', 'POST', '/api/v1/computes');
  expect(create).toMatchObject({ allowed: true });
  expect(JSON.stringify(create)).toContain('KGL-1');
  expect(explainRequest(policy, 'dashboard', 'POST', '/api/v1/computes')).toMatchObject({ allowed: false });
  const stop = JSON.stringify(explainRequest(policy, 'autoscaler', 'POST', '/api/v1/computes/42/stop'));
  expect(stop).toContain('not-found');
});
