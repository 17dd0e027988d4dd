/**
 * Issue #11 §1, as properties of step 6 (acceptRequestBody, then least privilege's checkBody): for
 * random valid and adversarial create and upsize bodies, whatever is forwarded decodes to one value
 * under a strict reader, a case-insensitive last-wins reader and charset-honouring readers; that
 * value is the one the gateway checked (plus its owner tag) and satisfies the caller's constraints.
 * And a body that any of those readers would read differently from the gateway is refused.
 */
import fc from 'fast-check';
import { operationById } from '../../../src/catalog/catalog';
import { acceptRequestBody } from '../../../src/gateway/body/request-body';
import { FORWARDED_MEDIA_TYPE } from '../../../src/gateway/body/media-type';
import { GATEWAY_ERRORS } from '../../../src/gateway/errors';
import { checkRequestBody } from '../../../src/gateway/least-privilege/constraints';
import { createLeastPrivilegeGuard } from '../../../src/gateway/least-privilege/guard';
import { MemoryComputeLedger } from '../../../src/gateway/least-privilege/ledger';
import { withOwnerTag } from '../../../src/gateway/least-privilege/owner-tag';
import { createLogger } from '../../../src/gateway/observability/logger';
import { createMetrics } from '../../../src/gateway/observability/metrics';
import { bodyCase, FENCE, utf7Smuggled } from '../../helpers/adversarial-bodies';
import { callerAccess } from '../../helpers/caller-access';
import {
  caseInsensitiveReading,
  charsetReading,
  charsetReadingAs,
  numbersAreCanonical,
  parseJsonNodes,
  strictReading,
} from '../../helpers/json-readings';

const guard = createLeastPrivilegeGuard({
  ledger: new MemoryComputeLedger({}),
  metrics: createMetrics(),
  holdMs: 60_000,
  logger: createLogger({ destination: { write: () => undefined } }),
});
/** Constrained, and its creates carry `owner:svc`: the forwarded value is the checked one plus the tag. */
const caller = callerAccess({ ...FENCE, ownership: { foreign: 'forbidden', ownerTag: true } });

/** Every reading a provider might make; `undefined` where the reader refuses the bytes. */
function readings(bytes: Buffer, contentType: string | undefined, fields: readonly string[]) {
  const attempt = (read: () => unknown) => {
    try {
      return read();
    } catch {
      return undefined;
    }
  };
  return {
    strict: attempt(() => strictReading(bytes)),
    caseInsensitive: attempt(() => caseInsensitiveReading(bytes, fields)),
    declaredCharset: attempt(() => charsetReading(bytes, contentType)),
    utf7: attempt(() => charsetReadingAs(bytes, 'utf-7')),
    latin1: attempt(() => charsetReadingAs(bytes, 'latin1')),
  };
}

describe('what step 6 forwards for a create or upsize body', () => {
  it('decodes to the checked value under every reader, and that value keeps to the constraints', () => {
    const seen = { forwarded: 0, refused: 0 };
    fc.assert(
      fc.property(bodyCase, ({ operation: id, contentType, bytes }) => {
        const operation = operationById(id);
        const accepted = acceptRequestBody(operation, contentType === undefined ? [] : [contentType], bytes);
        const checked = accepted.ok ? guard.checkBody(caller, operation, accepted.value) : accepted;
        if (!checked.ok) {
          seen.refused++;
          expect([400, 403, 415]).toContain(GATEWAY_ERRORS[checked.rejection.code].status);
          return;
        }
        seen.forwarded++;
        const forwarded = checked.value!;
        const checkedValue = accepted.ok ? accepted.value!.value : undefined;
        const expected = id === 'computes.create' ? withOwnerTag(checkedValue!, 'svc') : checkedValue;

        // Printable ASCII without `+`: no charset a reader could pick changes a byte's meaning.
        expect([...forwarded].every((byte) => byte >= 0x20 && byte <= 0x7e && byte !== 0x2b)).toBe(true);
        const read = readings(forwarded, FORWARDED_MEDIA_TYPE, operation.bodyProperties);
        for (const [reader, value] of Object.entries(read)) expect([reader, value]).toEqual([reader, expected]);
        expect(numbersAreCanonical(parseJsonNodes(forwarded.toString('latin1')))).toBe(true);
        for (const value of Object.values(read)) expect(checkRequestBody(FENCE, id, value)).toEqual([]);

        // And the caller's own bytes: every reader that accepts them reads what the gateway checked.
        const original = readings(bytes, contentType, operation.bodyProperties);
        expect(original.strict).toEqual(checkedValue);
        expect(original.caseInsensitive).toEqual(checkedValue);
        expect(original.declaredCharset).toEqual(checkedValue);
      }),
      { numRuns: 1500 },
    );
    // The generator reaches both outcomes often enough for the property to mean something.
    expect(seen.forwarded).toBeGreaterThan(100);
    expect(seen.refused).toBeGreaterThan(100);
  });

  it('the observed attacks are refused before anything is forwarded', () => {
    const create = operationById('computes.create');
    const upsize = operationById('computes.upsize');
    const smuggled = `{"region":"KGL-1","specification":"S-1C-1G","hostName":"web${utf7Smuggled(
      '","region":"EVIL-9","withPublicIp":true,"specification":"S-64C',
    )}"}`;
    // The attack is real: UTF-8 reads a fenced body, UTF-7 (body-parser honours it) reads EVIL-9.
    expect(charsetReadingAs(Buffer.from(smuggled), 'utf-8')).toMatchObject({ region: 'KGL-1' });
    expect(charsetReadingAs(Buffer.from(smuggled), 'utf-7')).toMatchObject({
      region: 'EVIL-9',
      withPublicIp: true,
      specification: 'S-64C',
    });
    const cases = [
      [create, 'application/json; charset=utf-7', smuggled, 'UNSUPPORTED_MEDIA_TYPE'],
      [create, 'application/json', '{"region":"KGL-1","Region":"EVIL-9"}', 'VALIDATION_ERROR'],
      [create, 'application/json', '{"region":"KGL-1","WithPublicIp":true}', 'VALIDATION_ERROR'],
      [upsize, 'application/json', '{"newSpecification":"S-2C-4G","NewSpecification":"S-64C"}', 'VALIDATION_ERROR'],
      [upsize, 'application/json', '{"newSpecification":"S-2C-4G","hint":1e400}', 'VALIDATION_ERROR'],
    ] as const;
    for (const [operation, contentType, text, code] of cases) {
      const accepted = acceptRequestBody(operation, [contentType], Buffer.from(text));
      expect(accepted.ok ? 'accepted' : accepted.rejection.code).toBe(code);
    }
  });
});
