/**
 * Request bodies (issue #11 §1): what the provider reads must be what the gateway checked. Judged
 * by what the sandbox referee received — its record of the bytes and the Content-Type:
 *
 * - a body goes upstream as exactly `application/json`, written by the gateway from the value it
 *   checked, in printable ASCII without `+`; a caller's charset other than UTF-8, or another media
 *   type, is refused with 415 before anything is sent (the observed UTF-7 attack among them);
 * - keys equal ignoring case, properties the provider's schema does not declare and numbers a
 *   double cannot hold are refused with 400 naming them, for every caller;
 * - operations without a body refuse a non-empty one.
 *
 * For a caller with request constraints, a property test sends random valid and adversarial
 * bodies: whatever reached the referee decodes to one value under a strict, a case-insensitive
 * last-wins and a charset-honouring reader, and that value keeps to the constraints.
 */
import fc from 'fast-check';
import { checkRequestBody } from '../../src/gateway/least-privilege/constraints';
import type { RecordedRequest } from '../../src/sandbox';
import { bodyCase, FENCE, FENCE_YAML, utf7Smuggled } from '../helpers/adversarial-bodies';
import {
  caseInsensitiveReading,
  charsetReading,
  charsetReadingAs,
  numbersAreCanonical,
  parseJsonNodes,
  strictReading,
} from '../helpers/json-readings';
import { VALID_CREATE } from '../helpers/valid-create';
import {
  describeAttacks,
  rawRequest,
  ROUTES,
  runAttack,
  sanitized,
  stopped,
  useSecurityHarness,
  type Attack,
  type RouteCase,
  type SecurityHarness,
} from './attack-suite';

/** A caller limited to one region, one size and no public IP, and to upsizes to one size. */
const FENCED = 'fenced';
const harness = useSecurityHarness({
  extraCallers: `  ${FENCED}:\n    account: main\n    scopes: ["*"]\n${FENCE_YAML}`,
});

const BODY_ROUTES = ROUTES.filter((route) => route.operation.hasRequestBody);
const BODYLESS_ROUTES = ROUTES.filter((route) => !route.operation.hasRequestBody);
const route = (id: string): RouteCase => ROUTES.find((r) => r.id === id)!;

/** The bytes the referee received. */
const receivedBytes = (seen: RecordedRequest): Buffer => Buffer.from(seen.bodyBase64 ?? '', 'base64');

/**
 * The referee received `expected` as exactly `application/json`, in bytes every reader reads the
 * same: printable ASCII without `+`, one value for the strict, the case-insensitive last-wins and
 * the charset-honouring readers (UTF-8 as declared, and UTF-7 and Latin-1 had they guessed).
 */
function expectReceivedAsChecked(seen: RecordedRequest, fields: readonly string[], expected: unknown): void {
  expect(seen.headers['content-type']).toBe('application/json');
  const bytes = receivedBytes(seen);
  expect([...bytes].filter((byte) => byte < 0x20 || byte > 0x7e || byte === 0x2b)).toEqual([]);
  expect(strictReading(bytes)).toEqual(expected);
  expect(caseInsensitiveReading(bytes, fields)).toEqual(expected);
  expect(charsetReading(bytes, seen.headers['content-type'])).toEqual(expected);
  expect(charsetReadingAs(bytes, 'utf-7')).toEqual(expected);
  expect(charsetReadingAs(bytes, 'latin1')).toEqual(expected);
  expect(numbersAreCanonical(parseJsonNodes(bytes.toString('latin1')))).toBe(true);
}

const asChecked = (expected: (route: RouteCase) => unknown) =>
  sanitized((seen, r) => expectReceivedAsChecked(seen, r.operation.bodyProperties, expected(r)));

/** The route's sample body with its first property's value replaced by a raw JSON token. */
function withFirstValue(r: RouteCase, token: string): string {
  const [first, ...rest] = Object.entries(JSON.parse(r.body!) as Record<string, unknown>);
  const members = [
    `${JSON.stringify(first![0])}:${token}`,
    ...rest.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`),
  ];
  return `{${members.join(',')}}`;
}
/** The route's sample body with one more raw member at the end. */
const withMember = (r: RouteCase, member: string) => `${r.body!.slice(0, -1)},${member}}`;
const firstKey = (r: RouteCase) => Object.keys(JSON.parse(r.body!) as object)[0]!;
const sampleValue = (r: RouteCase) => JSON.parse(r.body!) as Record<string, unknown>;

const unsupported = stopped(415, 'UNSUPPORTED_MEDIA_TYPE', { reason: 'body-media-type' });
const invalid = (reason: string | RegExp) => stopped(400, 'VALIDATION_ERROR', { reason });
/** The refusal names the property (or properties) it is about. */
const naming =
  (...names: string[]) =>
  (answer: { body: unknown }) => {
    for (const name of names) expect((answer.body as { message: string }).message).toContain(JSON.stringify(name));
  };

const withType =
  (contentType: string | string[] | undefined, body?: (r: RouteCase) => string | Buffer) =>
  (s: SecurityHarness, r: RouteCase) =>
    s.clean(r, { headers: { 'content-type': contentType }, ...(body ? { body: body(r) } : {}) });

const MEDIA_TYPE_ATTACKS: Attack[] = [
  {
    name: 'charset=utf-7 (a reader honouring it sees other bytes)',
    build: withType('application/json; charset=utf-7'),
    expect: unsupported,
  },
  {
    name: 'charset=utf-16le, the body in UTF-16',
    build: withType('application/json; charset=utf-16le', (r) => Buffer.from(r.body!, 'utf16le')),
    expect: unsupported,
  },
  { name: 'charset=iso-8859-1', build: withType('application/json; charset=iso-8859-1'), expect: unsupported },
  { name: 'text/plain', build: withType('text/plain'), expect: unsupported },
  { name: 'a parameter other than charset', build: withType('application/json; profile=x'), expect: unsupported },
  { name: 'application/merge-patch+json', build: withType('application/merge-patch+json'), expect: unsupported },
  { name: 'no Content-Type at all', build: withType(undefined), expect: unsupported },
  {
    name: 'two Content-Type lines (Node reads the first; another reader may take the second)',
    build: withType(['application/json', 'application/json; charset=utf-7']),
    expect: stopped(400, 'BAD_REQUEST', { reason: 'body-duplicate-content-type' }),
  },
  {
    name: 'application/json with charset UTF-8, any spelling: forwarded as exactly application/json',
    build: withType('Application/JSON ; Charset="UTF-8"'),
    expect: asChecked(sampleValue),
  },
];

const PROPERTY_ATTACKS: Attack[] = [
  {
    name: 'a key that differs from a declared one only in case',
    build: (s, r) =>
      s.clean(r, { body: withMember(r, `"${firstKey(r)[0]!.toUpperCase()}${firstKey(r).slice(1)}":"x"`) }),
    expect: invalid('body-case-colliding-key'),
    verify: (answer, r) => naming(firstKey(r))(answer),
  },
  {
    name: 'a key that a Unicode case fold makes declared (ſ for s)',
    build: (s, r) => s.clean(r, { body: withMember(r, JSON.stringify(firstKey(r).replace(/s/i, '\u017f')) + ':"x"') }),
    expect: invalid(/^body-(case-colliding-key|undeclared-property)$/),
  },
  {
    name: 'a property the provider’s schema does not declare',
    build: (s, r) => s.clean(r, { body: withMember(r, '"extra":true') }),
    expect: invalid('body-undeclared-property'),
    verify: naming('extra'),
  },
  {
    name: 'an own "__proto__" member',
    build: (s, r) => s.clean(r, { body: withMember(r, '"__proto__":{"region":"EVIL-9"}') }),
    expect: invalid('body-undeclared-property'),
    verify: naming('__proto__'),
  },
  {
    name: 'a JSON list instead of an object',
    build: (s, r) => s.clean(r, { body: `[${r.body!}]` }),
    expect: invalid('body-not-an-object'),
  },
  ...['1e400', '1208925819614629174706176', '-0', '0.30000000000000001'].map((token): Attack => ({
    name: `the number ${token}, which would be forwarded as another value`,
    build: (s, r) => s.clean(r, { body: withFirstValue(r, token) }),
    expect: invalid('body-inexact-number'),
  })),
  {
    name: 'an exact number is forwarded with its value (1E+2 as 100)',
    build: (s, r) => s.clean(r, { body: withFirstValue(r, '1E+2') }),
    expect: asChecked((r) => ({ ...sampleValue(r), [firstKey(r)]: 100 })),
  },
  {
    name: 'non-ASCII characters and + are forwarded as escapes of the same string',
    build: (s, r) => s.clean(r, { body: withFirstValue(r, JSON.stringify('wéb+ACI-😀')) }),
    expect: asChecked((r) => ({ ...sampleValue(r), [firstKey(r)]: 'wéb+ACI-😀' })),
  },
];

const BODYLESS_ATTACKS: Attack[] = [
  {
    name: 'a non-empty JSON body',
    build: (s, r) => s.clean(r, { headers: { 'content-type': 'application/json' }, body: '{"region":"EVIL-9"}' }),
    expect: stopped(400, 'BAD_REQUEST', { reason: 'body-not-expected' }),
  },
  {
    name: 'a body of one space, without a Content-Type',
    build: (s, r) => s.clean(r, { body: ' ' }),
    expect: stopped(400, 'BAD_REQUEST', { reason: 'body-not-expected' }),
  },
  {
    name: 'a chunked body (raw)',
    build: (s, r) => ({
      kind: 'raw',
      bytes: rawRequest(
        `${r.method} ${r.target} HTTP/1.1`,
        [...s.rawHeaderLines(r), 'Transfer-Encoding: chunked', 'Connection: close'],
        '2\r\n{}\r\n0\r\n\r\n',
      ),
    }),
    expect: stopped(400, 'BAD_REQUEST', { reason: 'body-not-expected' }),
  },
  {
    name: 'an empty body with a Content-Type: forwarded without either',
    build: (s, r) => s.clean(r, { headers: { 'content-type': 'application/json; charset=utf-7' }, body: '' }),
    expect: sanitized((seen) => {
      expect(seen.headers).not.toHaveProperty('content-type');
      expect(seen.bodyBase64).toBe('');
    }),
  },
];

describe('request bodies reach the upstream only as the gateway read them', () => {
  describeAttacks('the media type', harness, MEDIA_TYPE_ATTACKS, { routes: BODY_ROUTES });
  describeAttacks('the properties and numbers', harness, PROPERTY_ATTACKS, { routes: BODY_ROUTES, control: false });
  describeAttacks('operations without a body', harness, BODYLESS_ATTACKS, { routes: BODYLESS_ROUTES, control: false });
});

/** The observed attacks, sent as a caller whose constraints they would break if read another way. */
describe('a caller with request constraints', () => {
  const create = route('computes.create');
  const upsize = route('computes.upsize');
  const fenced = (s: SecurityHarness) => s.h.mint(FENCED, { lifetimeSec: 600 });
  const sendAsFenced =
    (r: RouteCase, body: string, contentType = 'application/json') =>
    (s: SecurityHarness) =>
      s.clean(r, { token: fenced(s), headers: { 'content-type': contentType }, body });

  const fencedCreate = { ...VALID_CREATE, specification: 'S-1C-1G', withPublicIp: false };
  /** UTF-8 reads a body within the constraints; UTF-7 (express's body-parser honours it) reads EVIL-9. */
  const smuggledCreate = `{"region":"KGL-1","specification":"S-1C-1G","image":"UBUNTU-24.04","publicKeys":["k"],"hostName":"web${utf7Smuggled(
    '","region":"EVIL-9","withPublicIp":true,"specification":"S-64C',
  )}"}`;
  const smuggledUpsize = `{"newSpecification":"S-2C-4G","note":"${utf7Smuggled('","newSpecification":"S-64C')}"}`;

  it('the UTF-7 payloads are real: within the constraints as UTF-8, outside them as UTF-7', () => {
    const asUtf8 = charsetReadingAs(Buffer.from(smuggledCreate), 'utf-8');
    const asUtf7 = charsetReadingAs(Buffer.from(smuggledCreate), 'utf-7');
    expect(checkRequestBody(FENCE, 'computes.create', asUtf8)).toEqual([]);
    expect(asUtf7).toMatchObject({ region: 'EVIL-9', withPublicIp: true, specification: 'S-64C' });
    expect(
      checkRequestBody(FENCE, 'computes.create', asUtf7)
        .map((v) => v.constraint)
        .sort(),
    ).toEqual(['create.regions', 'create.specifications', 'create.withPublicIp']);
    expect(charsetReadingAs(Buffer.from(smuggledUpsize), 'utf-7')).toMatchObject({ newSpecification: 'S-64C' });
  });

  const cases: [string, RouteCase, Attack['build'], Attack['expect'], Attack['verify']?][] = [
    [
      'the observed create: charset=utf-7 smuggling EVIL-9, a public IP and S-64C',
      create,
      sendAsFenced(create, smuggledCreate, 'application/json; charset=utf-7'),
      unsupported,
    ],
    [
      'the observed upsize: charset=utf-7 smuggling newSpecification S-64C',
      upsize,
      sendAsFenced(upsize, smuggledUpsize, 'application/json; charset=utf-7'),
      unsupported,
    ],
    [
      '"Region" next to "region"',
      create,
      sendAsFenced(create, JSON.stringify({ ...fencedCreate, Region: 'EVIL-9' })),
      invalid('body-case-colliding-key'),
      naming('region', 'Region'),
    ],
    [
      '"WithPublicIp": true next to "withPublicIp": false',
      create,
      sendAsFenced(create, JSON.stringify({ ...fencedCreate, WithPublicIp: true })),
      invalid('body-case-colliding-key'),
      naming('withPublicIp', 'WithPublicIp'),
    ],
    [
      '"WithPublicIp": true alone (a case-insensitive reader takes it as withPublicIp)',
      create,
      sendAsFenced(create, JSON.stringify({ ...VALID_CREATE, specification: 'S-1C-1G', WithPublicIp: true })),
      invalid('body-undeclared-property'),
      naming('WithPublicIp'),
    ],
    [
      '"NewSpecification" after "newSpecification"',
      upsize,
      sendAsFenced(upsize, '{"newSpecification":"S-2C-4G","NewSpecification":"S-64C"}'),
      invalid('body-case-colliding-key'),
      naming('NewSpecification'),
    ],
    [
      'control: a body within the constraints is forwarded as checked',
      create,
      sendAsFenced(create, JSON.stringify(fencedCreate)),
      asChecked(() => fencedCreate),
    ],
  ];

  // As objects: rows of different lengths would give some tests a `done` argument.
  it.each(cases.map(([name, r, build, expected, verify]) => ({ name, r, build, expected, verify })))(
    '$name',
    async ({ name, r, build, expected, verify }) => {
      await runAttack(harness(), r, { name, build, expect: expected, ...(verify ? { verify } : {}) });
    },
  );

  it('random valid and adversarial bodies: what the referee received is one value under every reader, within the constraints', async () => {
    const s = harness();
    const seen = { forwarded: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(bodyCase, async ({ operation, contentType, bytes }) => {
        const r = route(operation);
        const before = s.footprint().last;
        const answer = await s.deliver(
          s.clean(r, { token: fenced(s), headers: { 'content-type': contentType }, body: bytes }),
        );
        const received = s.footprint().last;
        if (received === before) {
          seen.refused++;
          expect([400, 403, 415]).toContain(answer.status);
          expect(answer.body).toMatchObject({ success: false, requestId: answer.requestId });
          return;
        }
        seen.forwarded++;
        const fields = r.operation.bodyProperties;
        const value = strictReading(receivedBytes(received!));
        expectReceivedAsChecked(received!, fields, value);
        expect(checkRequestBody(FENCE, operation, value)).toEqual([]);
        // The gateway checked the caller's bytes as UTF-8: the same value it forwarded.
        expect(charsetReadingAs(bytes, 'utf-8')).toEqual(value);
      }),
      { numRuns: 120 },
    );
    expect(seen.forwarded).toBeGreaterThan(5);
    expect(seen.refused).toBeGreaterThan(5);
  }, 60_000);
});
