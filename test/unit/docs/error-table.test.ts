/**
 * The error tables in the docs are the catalogues in code, both ways: every code documented with
 * its status (and, for the gateway, its public message), nothing documented that the code lacks.
 */
import { GATEWAY_ERRORS } from '../../../src/gateway/errors';
import { ERROR_STATUS } from '../../../src/sandbox/errors';
import { readDoc, sectionUnderHeading, tableUnderHeading } from './markdown';

/** `` `CODE` `` → `CODE`; anything else is left as written so a mismatch shows it. */
const unquote = (cell: string) => /^`([A-Z_]+)`$/.exec(cell)?.[1] ?? cell;

function codesOnce(rows: Array<Record<string, string>>): string[] {
  const codes = rows.map((row) => unquote(row.code ?? ''));
  expect(codes.filter((code, index) => codes.indexOf(code) !== index)).toEqual([]);
  return codes;
}

describe('docs/errors.md, "The gateway\'s codes"', () => {
  const rows = tableUnderHeading(readDoc('docs/errors.md'), "The gateway's codes");

  it('lists each code once', () => {
    codesOnce(rows);
  });

  it('is GATEWAY_ERRORS: the same codes, statuses and public messages', () => {
    const documented = Object.fromEntries(
      rows.map((row) => [unquote(row.code ?? ''), { status: Number(row.status), message: row.message }]),
    );
    expect(documented).toEqual(GATEWAY_ERRORS);
  });

  it('says when each is answered', () => {
    expect(rows.filter((row) => (row.when ?? '').length < 10).map((row) => row.code)).toEqual([]);
  });
});

describe('docs/sandbox.md, "Error codes"', () => {
  const rows = tableUnderHeading(readDoc('docs/sandbox.md'), 'Error codes');

  it('lists each code once', () => {
    codesOnce(rows);
  });

  it('is the sandbox catalogue ERROR_STATUS: the same codes and statuses', () => {
    const documented = Object.fromEntries(rows.map((row) => [unquote(row.code ?? ''), Number(row.status)]));
    expect(documented).toEqual(ERROR_STATUS);
  });
});

describe('README.md, "Errors"', () => {
  it('names every gateway code with its status, and no other', () => {
    const section = sectionUnderHeading(readDoc('README.md'), 'Errors');
    // The summary groups codes before their status: "`A` and `B` (400), `C` (401)".
    const named = new Map<string, number>();
    for (const group of section.matchAll(/((?:`[A-Z_]+`(?:,\s*|\s+and\s+)?)+)\s*\((\d{3})/g)) {
      for (const code of group[1]!.matchAll(/`([A-Z_]+)`/g)) named.set(code[1]!, Number(group[2]));
    }
    const catalogue = Object.fromEntries(Object.entries(GATEWAY_ERRORS).map(([code, entry]) => [code, entry.status]));
    expect(Object.fromEntries(named)).toEqual(catalogue);
  });
});
