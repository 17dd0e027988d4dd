import { ComputeStore, privateAddress, publicAddress, type ComputeInput } from '../../../src/sandbox/computes';

const T = Date.UTC(2026, 3, 20, 10, 0, 0);
const INPUT: ComputeInput = {
  hostName: 'h',
  image: 'UBUNTU-24.04',
  specification: 'S-1C-1G',
  region: 'KGL-1',
  tags: ['a'],
  withPublicIp: false,
};

describe('ComputeStore', () => {
  let store: ComputeStore;
  beforeEach(() => {
    store = new ComputeStore({ createDelayMs: 100, transitionDelayMs: 50 });
  });

  it('issues ids "1", "2", ... and timestamps at second precision', () => {
    const a = store.create('t', INPUT, T);
    const b = store.create('u', INPUT, T + 1500);
    expect([a.id, b.id]).toEqual(['1', '2']);
    expect(a.createdAt).toBe('2026-04-20T10:00:00Z');
    expect(b.createdAt).toBe('2026-04-20T10:00:01Z');
  });

  it('gives a public address only with withPublicIp, and "" otherwise', () => {
    expect(store.create('t', INPUT, T).ipv4).toBe('');
    expect(store.create('t', { ...INPUT, withPublicIp: true }, T).ipv4).toBe(publicAddress(2));
  });

  it('derives unique addresses from the id', () => {
    expect([privateAddress(1), privateAddress(256), privateAddress(65_537)]).toEqual([
      '10.0.0.1',
      '10.0.1.0',
      '10.1.0.1',
    ]);
    expect([publicAddress(1), publicAddress(65_537)]).toEqual(['198.18.0.1', '198.19.0.1']);
  });

  it('keeps teams apart', () => {
    const a = store.create('t', INPUT, T);
    expect(store.get('u', a.id, T)).toBeUndefined();
    expect(store.act('u', a.id, 'delete', T)).toEqual({ kind: 'not-found' });
    expect(store.upsize('u', a.id, 'S-2C-4G', T)).toEqual({ kind: 'not-found' });
    expect(store.list('u', T, 1, 20)).toEqual({ items: [], total: 0 });
  });

  it('lists pages in id order with the total', () => {
    for (let i = 0; i < 5; i++) store.create('t', INPUT, T);
    store.create('u', INPUT, T);
    const page = store.list('t', T, 2, 2);
    expect([page.items.map((c) => c.id), page.total]).toEqual([['3', '4'], 5]);
  });

  it('moves lazily with the clock', () => {
    const a = store.create('t', INPUT, T);
    expect(store.get('t', a.id, T + 99)!.state).toBe('CREATING');
    expect(store.get('t', a.id, T + 100)!.state).toBe('RUNNING');
    expect(store.act('t', a.id, 'stop', T + 200)).toMatchObject({ kind: 'accepted', compute: { state: 'STOPPING' } });
    expect(store.list('t', T + 250, 1, 20).items[0]!.state).toBe('STOPPED');
  });

  it('upsize: not-stopped, not-larger, accepted, gone', () => {
    const a = store.create('t', INPUT, T);
    expect(store.upsize('t', a.id, 'S-2C-4G', T + 100)).toEqual({ kind: 'not-stopped', state: 'RUNNING' });
    store.act('t', a.id, 'stop', T + 100);
    expect(store.upsize('t', a.id, 'S-1C', T + 150)).toEqual({ kind: 'not-larger', from: 'S-1C-1G', to: 'S-1C' });
    expect(store.upsize('t', a.id, 'S-2C-4G', T + 2000)).toMatchObject({
      kind: 'accepted',
      compute: { specification: 'S-2C-4G', state: 'STOPPED', updatedAt: '2026-04-20T10:00:02Z' },
    });
    store.act('t', a.id, 'delete', T + 2000);
    expect(store.upsize('t', a.id, 'S-4C-8G', T + 2000)).toEqual({ kind: 'gone', state: 'DESTROYING' });
  });

  it('reset forgets everything and restarts ids', () => {
    store.create('t', INPUT, T);
    store.reset();
    expect(store.list('t', T, 1, 20).total).toBe(0);
    expect(store.create('t', INPUT, T).id).toBe('1');
  });

  it('returns copies: changing a view changes nothing stored', () => {
    const a = store.create('t', INPUT, T);
    a.tags.push('x');
    expect(store.get('t', a.id, T)!.tags).toEqual(['a']);
  });
});
