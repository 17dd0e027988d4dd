import type { ServerResponse } from 'node:http';
import { captureResponseStart, auditTrailOn } from '../../../src/gateway/audit-sink';
import { createLogger } from '../../../src/gateway/observability/logger';

describe('auditTrailOn: the audit channel of a logger', () => {
  it.each(['info', 'warn', 'silent'])('writes at info, marked "audit": true, with the logger at %s', (level) => {
    const lines: string[] = [];
    const logger = createLogger({ level, destination: { write: (line: string) => void lines.push(line) } });
    auditTrailOn(logger).record({
      requestId: 'r1',
      operation: 'computes.stop',
      outcome: 'forwarded',
      computeId: '4',
      status: 202,
      upstreamStatus: 202,
      receivedAt: '2025-01-01T00:00:00.000Z',
    });
    logger.info('an ordinary line');
    const audit = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.audit === true);
    expect(audit).toEqual([
      expect.objectContaining({
        level: 30,
        name: 'strettch-gateway',
        msg: 'audit',
        requestId: 'r1',
        operation: 'computes.stop',
        computeId: '4',
        time: expect.any(String),
      }),
    ]);
    expect(lines.length).toBe(level === 'info' ? 2 : 1);
  });
});

describe('captureResponseStart', () => {
  /** Just enough of a ServerResponse: what `pipe` calls. */
  function fakeResponse() {
    const sent: Buffer[] = [];
    const res = {
      write(chunk: Buffer | string) {
        sent.push(Buffer.from(chunk));
        return true;
      },
      end(chunk?: Buffer | string) {
        if (chunk !== undefined) sent.push(Buffer.from(chunk));
        return res;
      },
    };
    return { res: res as unknown as ServerResponse, sent: () => Buffer.concat(sent).toString() };
  }

  it('keeps a copy of what is written, and sends it unchanged', () => {
    const { res, sent } = fakeResponse();
    const captured = captureResponseStart(res, 64);
    res.write(Buffer.from('{"data":'));
    res.write('{"id":"12"}');
    res.end('}');
    expect(sent()).toBe('{"data":{"id":"12"}}');
    expect(captured()?.toString()).toBe('{"data":{"id":"12"}}');
  });

  it('gives nothing past the bound (but still sends everything)', () => {
    const { res, sent } = fakeResponse();
    const captured = captureResponseStart(res, 8);
    res.write('0123456');
    res.write('789');
    res.end();
    expect(sent()).toBe('0123456789');
    expect(captured()).toBeUndefined();
  });
});
