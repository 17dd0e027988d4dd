/** The lifecycle moves lazily with the injected clock: no sleeping here. */
import { OWNER, VALID_CREATE, createCompute, launch, type Harness } from './support/harness';

const CREATE_DELAY_MS = 5000;
const TRANSITION_DELAY_MS = 2000;

let h: Harness;
beforeEach(async () => {
  h = await launch({
    limits: { readPerSecond: 10_000, writePerSecond: 10_000 },
    createDelayMs: CREATE_DELAY_MS,
    transitionDelayMs: TRANSITION_DELAY_MS,
  });
});
afterEach(() => h.close());

async function state(id: string): Promise<string> {
  return (await h.call('GET', `/api/v1/computes/${id}`, { key: OWNER })).body.data.state;
}

async function act(
  id: string,
  action: 'start' | 'stop' | 'reboot',
): Promise<{ status: number; body: { code?: string; data?: { state: string } } }> {
  return h.call('POST', `/api/v1/computes/${id}/${action}`, { key: OWNER });
}

async function runningCompute(): Promise<string> {
  const id = (await createCompute(h)).body.data.id as string;
  h.clock.advance(CREATE_DELAY_MS);
  return id;
}

describe('create', () => {
  it('answers 202 CREATING, then RUNNING exactly after createDelayMs', async () => {
    const created = await createCompute(h);
    expect([created.status, created.body.data.state]).toEqual([202, 'CREATING']);
    const id = created.body.data.id as string;
    h.clock.advance(CREATE_DELAY_MS - 1);
    expect(await state(id)).toBe('CREATING');
    h.clock.advance(1);
    const running = (await h.call('GET', `/api/v1/computes/${id}`, { key: OWNER })).body.data;
    expect(running.state).toBe('RUNNING');
    expect(running.updatedAt).toBe(new Date(h.clock.now()).toISOString().replace('.000', ''));
    expect(running.createdAt).not.toBe(running.updatedAt);
  });

  it('issues numeric-string ids in order, keeps tags and assigns addresses', async () => {
    const a = (await createCompute(h, { ...VALID_CREATE, tags: ['web', 'prod'], withPublicIp: true })).body.data;
    const b = (await createCompute(h)).body.data;
    expect([a.id, b.id]).toEqual(['1', '2']);
    expect(a.tags).toEqual(['web', 'prod']);
    expect(b.tags).toEqual([]);
    expect(a.ipv4).toMatch(/^198\.1[89]\.\d+\.\d+$/);
    expect(b.ipv4).toBe('');
    expect(a.privateIpv4).toMatch(/^10\.\d+\.\d+\.\d+$/);
    expect(a.privateIpv4).not.toBe(b.privateIpv4);
    expect(a).toMatchObject({ hostName: 'web-01', image: 'UBUNTU-24.04', region: 'KGL-1', specification: 'S-1C-1G' });
  });

  it('a zero create delay still answers CREATING, and is RUNNING on the next read', async () => {
    const instant = await launch({ createDelayMs: 0 });
    try {
      const created = await createCompute(instant);
      expect(created.body.data.state).toBe('CREATING');
      expect(
        (await instant.call('GET', `/api/v1/computes/${created.body.data.id}`, { key: OWNER })).body.data.state,
      ).toBe('RUNNING');
    } finally {
      await instant.close();
    }
  });
});

describe('power actions', () => {
  it.each([
    ['stop', 'STOPPING', 'STOPPED'],
    ['reboot', 'REBOOTING', 'RUNNING'],
  ] as const)('%s: RUNNING → %s → %s', async (action, through, to) => {
    const id = await runningCompute();
    const r = await act(id, action);
    expect([r.status, r.body.data?.state]).toEqual([202, through]);
    h.clock.advance(TRANSITION_DELAY_MS - 1);
    expect(await state(id)).toBe(through);
    h.clock.advance(1);
    expect(await state(id)).toBe(to);
  });

  it('start: STOPPED → STARTING → RUNNING', async () => {
    const id = await runningCompute();
    await act(id, 'stop');
    h.clock.advance(TRANSITION_DELAY_MS);
    expect((await act(id, 'start')).body.data?.state).toBe('STARTING');
    h.clock.advance(TRANSITION_DELAY_MS);
    expect(await state(id)).toBe('RUNNING');
  });

  it('delete: DESTROYING → DESTROYED, which stays visible; then every action is 409', async () => {
    const id = await runningCompute();
    const deleted = await h.call('DELETE', `/api/v1/computes/${id}`, { key: OWNER });
    expect([deleted.status, deleted.body.data.state]).toEqual([202, 'DESTROYING']);
    h.clock.advance(TRANSITION_DELAY_MS);
    expect(await state(id)).toBe('DESTROYED');
    expect(
      (await h.call('GET', '/api/v1/computes', { key: OWNER })).body.data.map((c: { state: string }) => c.state),
    ).toEqual(['DESTROYED']);
    for (const action of ['start', 'stop', 'reboot'] as const)
      expect((await act(id, action)).body.code).toBe('CONFLICT');
    expect((await h.call('DELETE', `/api/v1/computes/${id}`, { key: OWNER })).body.code).toBe('CONFLICT');
  });

  it('a compute may be deleted while still CREATING', async () => {
    const id = (await createCompute(h)).body.data.id as string;
    expect((await h.call('DELETE', `/api/v1/computes/${id}`, { key: OWNER })).status).toBe(202);
  });

  it.each([
    ['start', 'RUNNING'],
    ['stop', 'CREATING'],
    ['reboot', 'STOPPED'],
    ['stop', 'STOPPING'],
  ] as const)('%s while %s → 409 CONFLICT naming the state', async (action, inState) => {
    const id = (await createCompute(h)).body.data.id as string;
    if (inState !== 'CREATING') h.clock.advance(CREATE_DELAY_MS);
    if (inState === 'STOPPED' || inState === 'STOPPING') await act(id, 'stop');
    if (inState === 'STOPPED') h.clock.advance(TRANSITION_DELAY_MS);
    const r = await act(id, action);
    expect([r.status, r.body.code]).toEqual([409, 'CONFLICT']);
    expect(await state(id)).toBe(inState);
  });
});

describe('upsize', () => {
  async function stoppedCompute(specification = 'S-1C-1G'): Promise<string> {
    const id = (await createCompute(h, { ...VALID_CREATE, specification })).body.data.id as string;
    h.clock.advance(CREATE_DELAY_MS);
    await act(id, 'stop');
    h.clock.advance(TRANSITION_DELAY_MS);
    return id;
  }
  const upsize = (id: string, newSpecification: string) =>
    h.call('PATCH', `/api/v1/computes/${id}/upsize`, { key: OWNER, json: { newSpecification } });

  it('only when STOPPED: otherwise 400 COMPUTE_RUNNING', async () => {
    const id = await runningCompute();
    const r = await upsize(id, 'S-2C-4G');
    expect([r.status, r.body.code]).toEqual([400, 'COMPUTE_RUNNING']);
  });

  it('to a strictly larger specification: resized at once, still STOPPED, updatedAt moves', async () => {
    const id = await stoppedCompute();
    h.clock.advance(60_000);
    const r = await upsize(id, 'S-4C-8G');
    expect([r.status, r.body.data.specification, r.body.data.state]).toEqual([202, 'S-4C-8G', 'STOPPED']);
    expect(r.body.data.updatedAt).toBe(new Date(h.clock.now()).toISOString().replace('.000', ''));
    expect((await h.call('GET', `/api/v1/computes/${id}`, { key: OWNER })).body.data.specification).toBe('S-4C-8G');
  });

  it.each(['S-1C-1G', 'S-1C'])('to %s (same or smaller than S-1C-1G) → 400 VALIDATION_ERROR', async (target) => {
    const id = await stoppedCompute('S-1C-1G');
    const r = await upsize(id, target);
    expect([r.status, r.body.code]).toEqual([400, 'VALIDATION_ERROR']);
  });
});
