import { OPERATION_IDS } from '../../../src/catalog/catalog';
import { operationMatches, operationsMatching, scopeMatches, scopesMatching } from '../../../src/gateway/policy';

describe('operation patterns', () => {
  it.each([
    ['computes.get', 'computes.get', true],
    ['computes.get', 'computes.list', false],
    ['computes.*', 'computes.get', true],
    ['computes.*', 'computes.upsize', true],
    ['computes.*', 'computes', false],
    ['computes.*', 'specifications.list', false],
    // A trailing * only counts after the separator: "compute*" is not a prefix match.
    ['compute*', 'computes.get', false],
    ['*', 'health', true],
    ['*', 'regions.list', true],
  ])('%s matches %s: %s', (pattern, id, expected) => {
    expect(operationMatches(pattern, id)).toBe(expected);
  });

  it('expands patterns in catalog order', () => {
    expect(operationsMatching('computes.*')).toEqual([
      'computes.list',
      'computes.create',
      'computes.get',
      'computes.delete',
      'computes.start',
      'computes.stop',
      'computes.reboot',
      'computes.upsize',
    ]);
    expect(operationsMatching('*')).toEqual([...OPERATION_IDS]);
    expect(operationsMatching('disks.*')).toEqual([]);
  });
});

describe('scope patterns', () => {
  it.each([
    ['computes:read', 'computes:read', true],
    ['computes:read', 'computes:reader', false],
    ['computes:*', 'computes:read', true],
    ['computes:*', 'computes:read:all', true],
    ['computes:*', 'computes', false],
    ['computes:*', 'catalog:read', false],
    ['*', 'anything', true],
  ])('%s matches %s: %s', (pattern, name, expected) => {
    expect(scopeMatches(pattern, name)).toBe(expected);
  });

  it('keeps the order of the scope list', () => {
    expect(scopesMatching('computes:*', ['catalog:read', 'computes:read', 'computes:power', 'ops:read'])).toEqual([
      'computes:read',
      'computes:power',
    ]);
  });
});
