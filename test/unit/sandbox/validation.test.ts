import {
  checkCreateBody,
  checkPagination,
  checkUpsizeBody,
  isJsonContentType,
  parseJsonObject,
} from '../../../src/sandbox/validation';

const VALID = {
  hostName: 'web-01',
  image: 'UBUNTU-24.04',
  region: 'KGL-1',
  specification: 'S-1C',
  publicKeys: ['ssh-ed25519 AAAA'],
};

describe('checkCreateBody', () => {
  it('accepts a valid body and fills the optional fields', () => {
    expect(checkCreateBody(VALID)).toEqual({ ok: true, value: { ...VALID, tags: [], withPublicIp: false } });
    expect(checkCreateBody({ ...VALID, tags: ['a'], withPublicIp: true })).toMatchObject({
      ok: true,
      value: { tags: ['a'], withPublicIp: true },
    });
  });

  it.each([
    [{ ...VALID, hostName: undefined }, 'hostName:'],
    [{ ...VALID, hostName: 42 }, 'hostName:'],
    [{ ...VALID, hostName: '-bad-' }, 'hostName: must be 1-63'],
    [{ ...VALID, hostName: 'a'.repeat(64) }, 'hostName: must be 1-63'],
    [{ ...VALID, image: 'DEBIAN-12' }, 'image: unknown image "DEBIAN-12" (known: UBUNTU-24.04, UBUNTU-22.04)'],
    [{ ...VALID, region: 'NBO-1' }, 'region: unknown region "NBO-1"'],
    [{ ...VALID, specification: 'S-3C' }, 'specification: unknown specification "S-3C"'],
    [{ ...VALID, publicKeys: [] }, 'publicKeys: must hold at least one key'],
    [{ ...VALID, publicKeys: [''] }, 'publicKeys.0: must not be empty'],
    [{ ...VALID, publicKeys: 'ssh-rsa x' }, 'publicKeys:'],
    [{ ...VALID, tags: [1] }, 'tags.0:'],
    [{ ...VALID, withPublicIp: 'yes' }, 'withPublicIp:'],
    [{ ...VALID, color: 'blue' }, 'color: unknown field'],
    [
      { ...VALID, specification: undefined, specificationId: 'uuid' },
      'specificationId: unknown field, use specification (renamed on 2026-04-17)',
    ],
  ])('%j → %s', (body, message) => {
    const result = checkCreateBody(JSON.parse(JSON.stringify(body)));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain(message);
  });

  it('reports every slug problem at once', () => {
    const result = checkCreateBody({ ...VALID, image: 'x', region: 'y' });
    expect(!result.ok && result.message.split('; ')).toHaveLength(2);
  });
});

describe('checkUpsizeBody', () => {
  it.each([
    [{ newSpecification: 'S-2C-4G' }, true],
    [{}, false],
    [{ newSpecification: 'S-0' }, false],
    [{ newSpecificationId: 'x' }, false],
  ])('%j → ok %s', (body, ok) => {
    expect(checkUpsizeBody(body).ok).toBe(ok);
  });
});

describe('checkPagination', () => {
  it.each([
    ['', { page: 1, limit: 20 }],
    ['page=3', { page: 3, limit: 20 }],
    ['limit=100', { page: 1, limit: 100 }],
    ['limit=1&page=9007199254740991', { page: 9007199254740991, limit: 1 }],
  ])('%j → %j', (query, value) => {
    expect(checkPagination(new URLSearchParams(query))).toEqual({ ok: true, value });
  });

  it.each([
    'limit=101',
    'limit=0',
    'page=0',
    'page=-2',
    'page=2.0',
    'page=1e2',
    'page= 1',
    'page=',
    'page=1&page=1',
    'page=9007199254740992',
  ])('%j is refused', (query) => {
    expect(checkPagination(new URLSearchParams(query)).ok).toBe(false);
  });
});

describe('isJsonContentType', () => {
  it.each([
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['APPLICATION/JSON;charset="UTF-8"', true],
    ['application/json; charset=iso-8859-1', false],
    ['application/jsonp', false],
    ['text/json', false],
    [undefined, false],
  ])('%j → %s', (header, expected) => {
    expect(isJsonContentType(header)).toBe(expected);
  });
});

describe('parseJsonObject', () => {
  const bytes = (s: string) => new TextEncoder().encode(s);

  it('parses an object, BOM tolerated', () => {
    expect(parseJsonObject(bytes('\uFEFF{"a":1}'))).toEqual({ ok: true, value: { a: 1 } });
  });

  it.each([
    ['', 'empty'],
    ['  ', 'empty'],
    ['[]', 'must be a JSON object'],
    ['null', 'must be a JSON object'],
    ['"s"', 'must be a JSON object'],
    ['{', 'not valid JSON'],
    [`{"a":${'['.repeat(40)}${']'.repeat(40)}}`, 'nests deeper than 32'],
  ])('%j → %s', (text, message) => {
    const result = parseJsonObject(bytes(text));
    expect(!result.ok && result.message).toContain(message);
  });

  it('refuses invalid UTF-8', () => {
    expect(parseJsonObject(new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]))).toEqual({
      ok: false,
      message: 'the request body is not valid UTF-8',
    });
  });
});
