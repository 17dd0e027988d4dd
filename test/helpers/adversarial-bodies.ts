/**
 * Random request bodies for create and upsize, valid and adversarial (issue #11 §1): declared keys
 * and their case or fold variants (`Region`, `hoſtName`), undeclared keys, values a constrained
 * caller may or may not send, UTF-7 payloads that smuggle keys past a UTF-8 reading, numbers that
 * do not survive a double, all sent under a Content-Type that may or may not tell the truth about
 * the bytes. Shared by the unit property test and the referee-judged one.
 */
import fc from 'fast-check';
import iconv from 'iconv-lite';
import type { OperationId } from '../../src/catalog/catalog';
import type { LeastPrivilegePolicy } from '../../src/gateway/least-privilege/types';
import { VALID_CREATE } from './valid-create';

/** The constrained caller of these tests: one region, one size, no public IP; upsizes to one size. */
export const FENCE: LeastPrivilegePolicy = Object.freeze({
  constraints: {
    create: { regions: ['KGL-1'], specifications: ['S-1C-1G'], withPublicIp: false },
    upsize: { specifications: ['S-2C-4G'] },
  },
  shadow: false,
});

/** The same constraints as policy YAML, for a caller entry of the integration harness. */
export const FENCE_YAML = `    constraints:
      create: { regions: [KGL-1], specifications: [S-1C-1G], withPublicIp: false }
      upsize: { specifications: [S-2C-4G] }
`;

/** What a UTF-7 reader sees as `text` while a UTF-8 reader sees only `+…-` runs inside a string. */
export function utf7Smuggled(text: string): string {
  return iconv.encode(text, 'utf-7').toString('latin1');
}

export interface BodyCase {
  operation: OperationId;
  contentType: string | undefined;
  bytes: Buffer;
}

const SAFE: Record<'computes.create' | 'computes.upsize', Record<string, unknown>> = {
  'computes.create': { ...VALID_CREATE, specification: 'S-1C-1G', withPublicIp: false },
  'computes.upsize': { newSpecification: 'S-2C-4G' },
};
const DECLARED: Record<'computes.create' | 'computes.upsize', string[]> = {
  'computes.create': ['hostName', 'image', 'publicKeys', 'region', 'specification', 'tags', 'withPublicIp'],
  'computes.upsize': ['newSpecification'],
};

/** A key as an attacker would spell it: exact, another case, a Unicode fold-alike, or undeclared. */
function keyVariant(declared: readonly string[]) {
  return fc.oneof(
    fc.constantFrom(...declared),
    fc
      .tuple(fc.constantFrom(...declared), fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }))
      .map(([key, flips]) => [...key].map((c, i) => (flips[i] ? c.toUpperCase() : c)).join('')),
    fc
      .constantFrom(...declared)
      .map((key) => key.replace('s', '\u017f').replace('k', '\u212a').replace('S', '\u017f').replace('K', '\u212a')),
    fc.constantFrom('extra', 'note', '__proto__', 'region ', 'Region'),
  );
}

/** A JSON value token: strings (smuggling or not), booleans, numbers exact and not, lists. */
const valueToken = fc.oneof(
  fc.constantFrom('KGL-1', 'EVIL-9', 'S-1C-1G', 'S-2C-4G', 'S-64C', 'wéb+01', '😀').map((s) => JSON.stringify(s)),
  fc
    .constantFrom(
      '","region":"EVIL-9',
      '","withPublicIp":true,"specification":"S-64C',
      '","newSpecification":"S-64C',
      '","Region":"EVIL-9',
    )
    .map((s) => JSON.stringify(`web${utf7Smuggled(s)}`)),
  fc.string({ unit: 'binary', maxLength: 8 }).map((s) => JSON.stringify(s)),
  fc.constantFrom('true', 'false', 'null', '1', '1e400', '1208925819614629174706176', '-0', '0.1', '1e21', '[]'),
  fc.constantFrom('["KGL-1"]', '["owner:x"]', '[1e400]', '{"a":1,"A":2}'),
);

/** The body's text before encoding: the safe body's members, with adversarial ones before or after. */
function bodyText(operation: 'computes.create' | 'computes.upsize') {
  const safe = Object.entries(SAFE[operation]).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  // Weighted so that about a third of the cases pass every check: the forwarded side is tested too.
  return fc
    .tuple(
      fc.oneof(
        { weight: 2, arbitrary: fc.constant([]) },
        {
          weight: 3,
          arbitrary: fc.array(fc.tuple(keyVariant(DECLARED[operation]), valueToken), { minLength: 1, maxLength: 3 }),
        },
      ),
      fc.boolean(),
      fc.oneof(
        { weight: 3, arbitrary: fc.constant(safe) },
        { weight: 1, arbitrary: fc.subarray(safe, { minLength: 1 }) },
      ),
    )
    .map(([extra, extraFirst, kept]) => {
      const members = extra.map(([k, v]) => `${JSON.stringify(k)}:${v}`);
      return `{${(extraFirst ? [...members, ...kept] : [...kept, ...members]).join(',')}}`;
    });
}

/** The bytes on the wire, and the Content-Type the caller claims for them (truthfully or not). */
export const bodyCase: fc.Arbitrary<BodyCase> = fc
  .tuple(
    fc.constantFrom('computes.create' as const, 'computes.upsize' as const),
    fc.oneof(
      { weight: 4, arbitrary: fc.constant('utf-8') },
      { weight: 1, arbitrary: fc.constantFrom('utf-7', 'utf-16le', 'latin1') },
    ),
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8') },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          'application/json; charset=utf-7',
          'application/json; charset=utf-16le',
          'application/json; charset=iso-8859-1',
          'Application/JSON;Charset="UTF-8"',
          'text/plain',
          undefined,
        ),
      },
    ),
  )
  .chain(([operation, wireCharset, contentType]) =>
    bodyText(operation).map((text) => ({ operation, contentType, bytes: iconv.encode(text, wireCharset) })),
  );
