/**
 * docs/errors.md, "Refused before the request path", is `CONNECTION_REFUSALS`: every reason with its
 * status, code and public message, nothing documented that the server lacks; and every code there is
 * one of the gateway's catalogue, so a client's one error handler knows it.
 */
import { GATEWAY_ERRORS } from '../../../src/gateway/errors';
import { CONNECTION_REFUSALS } from '../../../src/shared/connection-refusals';
import { readDoc, tableUnderHeading } from './markdown';

const unquote = (cell: string) => /^`([A-Za-z_-]+)`$/.exec(cell)?.[1] ?? cell;

describe('docs/errors.md, "Refused before the request path"', () => {
  const rows = tableUnderHeading(readDoc('docs/errors.md'), 'Refused before the request path');

  it('is CONNECTION_REFUSALS: the same reasons, statuses, codes and messages', () => {
    const documented = Object.fromEntries(
      rows.map((row) => [
        unquote(row.reason ?? ''),
        { status: Number(row.status), code: unquote(row.code ?? ''), message: row.message },
      ]),
    );
    const inCode = Object.fromEntries(
      Object.entries(CONNECTION_REFUSALS).map(([reason, { status, code, message }]) => [
        reason,
        { status, code, message },
      ]),
    );
    expect(documented).toEqual(inCode);
  });

  it('says when each is answered', () => {
    expect(rows.filter((row) => (row.when ?? '').length < 10).map((row) => row.reason)).toEqual([]);
  });

  it('uses only codes of the gateway catalogue', () => {
    for (const { code } of Object.values(CONNECTION_REFUSALS)) expect(Object.keys(GATEWAY_ERRORS)).toContain(code);
  });
});
