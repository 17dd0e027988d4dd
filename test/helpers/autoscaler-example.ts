/** The autoscaler (request constraints, ownership, quotas), as a policy writes it and as it resolves. */
import type { CreateConstraints } from '../../src/gateway/least-privilege/types';

/** The caller's least-privilege keys, unindented YAML. */
export const AUTOSCALER_LEAST_PRIVILEGE_YAML = `
constraints:
  create:
    regions: [KGL-1]
    images: [UBUNTU-24.04]
    specifications: [S-1C, S-1C-1G]
    tags:
      required: [autoscaler]
      allowed: [autoscaler, "pool-*"]
    hostName: '^as-[a-z0-9-]{1,20}$'
    withPublicIp: false
  upsize:
    specifications: [S-1C-2G]
ownership:
  foreign: forbidden
  ownerTag: true
quotas:
  liveComputes: 5
  createsPerHour: 10
shadow: false
`;

/** `constraints.create` above, resolved. */
export const AUTOSCALER_CREATE_CONSTRAINTS: CreateConstraints = {
  regions: ['KGL-1'],
  images: ['UBUNTU-24.04'],
  specifications: ['S-1C', 'S-1C-1G'],
  requiredTags: ['autoscaler'],
  allowedTags: ['autoscaler', 'pool-*'],
  hostNamePattern: '^(?:^as-[a-z0-9-]{1,20}$)$',
  withPublicIp: false,
};

/** YAML lines indented to sit under a key (`by` spaces). */
export function indentYaml(lines: string, by: number): string {
  return lines
    .trim()
    .split('\n')
    .map((line) => `${' '.repeat(by)}${line}`)
    .join('\n');
}
