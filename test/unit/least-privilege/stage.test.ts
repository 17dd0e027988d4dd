/**
 * Least privilege as one stage: how it forwards each kind of operation (read from the catalog's
 * traits), what it keeps in the ledger, and the no-op stage.
 */
import { operationById, type OperationId } from '../../../src/catalog/catalog';
import type { ForwardRequest } from '../../../src/gateway/forward/proxy';
import { createLeastPrivilegeGuard } from '../../../src/gateway/least-privilege/guard';
import { MemoryComputeLedger } from '../../../src/gateway/least-privilege/ledger';
import { createLeastPrivilegeStage, type Exchange } from '../../../src/gateway/least-privilege/stage';
import type { LeastPrivilegePolicy } from '../../../src/gateway/least-privilege/types';
import { createLogger } from '../../../src/gateway/observability/logger';
import { createMetrics } from '../../../src/gateway/observability/metrics';
import type { AttemptsResult } from '../../../src/gateway/upstream-attempts';
import { callerAccess } from '../../helpers/caller-access';

const caller = callerAccess;

const answered = (status: number, body: unknown): AttemptsResult => ({
  kind: 'sent',
  outcome: { kind: 'captured', upstreamStatus: status, upstreamHeaders: {}, body: Buffer.from(JSON.stringify(body)) },
  attempts: 1,
  queueWaitMs: 0,
});

function setup(leastPrivilege: LeastPrivilegePolicy = { shadow: false }) {
  const ledger = new MemoryComputeLedger({});
  const guard = createLeastPrivilegeGuard({
    ledger,
    metrics: createMetrics(),
    holdMs: 60_000,
    logger: createLogger({ destination: { write: () => undefined } }),
  });
  const sent: ForwardRequest[] = [];
  const exchange = (id: OperationId, reply: AttemptsResult, computeId?: string): Exchange => ({
    caller: caller(leastPrivilege),
    operation: operationById(id),
    computeId,
    query: [],
    request: { upstreamPath: '/x', headers: {} },
    reservationId: 'req-1',
    send: (request) => {
      sent.push(request);
      return Promise.resolve(reply);
    },
    relay: () => undefined,
  });
  return { stage: createLeastPrivilegeStage(guard), ledger, sent, exchange };
}

describe('the least-privilege stage', () => {
  it('records the compute a create made, for a caller with no least privilege too', async () => {
    const { stage, ledger, sent, exchange } = setup();
    await stage.forward(exchange('computes.create', answered(202, { data: { id: '77' } })));
    expect(sent[0]?.capture).toBeDefined();
    await expect(ledger.ownerOf('acct', '77')).resolves.toBe('svc');
  });

  it('a create over its quota is refused before it is sent', async () => {
    const { stage, sent, exchange } = setup({ quotas: { liveComputes: 1 }, shadow: false });
    await stage.forward(exchange('computes.create', answered(202, { data: { id: '1' } })));
    const second = await stage.forward({ ...exchange('computes.create', answered(202, {})), reservationId: 'req-2' });
    expect(second).toMatchObject({ kind: 'rejected', rejection: { code: 'QUOTA_EXCEEDED' }, attempts: 0 });
    expect(sent).toHaveLength(1);
  });

  it('an own-only list with a page too large is refused without a send', async () => {
    const { stage, sent, exchange } = setup({ ownership: { foreign: 'forbidden', ownerTag: false }, shadow: false });
    const ended = await stage.forward({ ...exchange('computes.list', answered(200, {})), query: [['limit', '500']] });
    expect(ended).toMatchObject({ kind: 'rejected', rejection: { code: 'VALIDATION_ERROR' } });
    expect(sent).toHaveLength(0);
  });

  it.each<OperationId>(['computes.get', 'computes.start', 'images.list'])('%s is sent as it is', async (id) => {
    const { stage, sent, exchange } = setup({ ownership: { foreign: 'forbidden', ownerTag: false }, shadow: false });
    const reply = answered(200, {});
    await expect(stage.forward(exchange(id, reply))).resolves.toBe(reply);
    expect(sent).toEqual([{ upstreamPath: '/x', headers: {} }]);
  });
});
