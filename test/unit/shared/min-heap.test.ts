/** The heap behind the schedule's caller index: items come out in the given order, ties included. */
import { MinHeap } from '../../../src/shared/min-heap';

describe('MinHeap', () => {
  test('pops in ascending order whatever the push order, and is empty after', () => {
    let seed = 3;
    const values = Array.from({ length: 2000 }, () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % 500; // many equal values
    });
    const heap = new MinHeap<number>((a, b) => a < b);
    for (const v of values) heap.push(v);
    expect(heap.size).toBe(values.length);
    const out: number[] = [];
    while (heap.size > 0) out.push(heap.pop()!);
    expect(out).toEqual([...values].sort((a, b) => a - b));
    expect(heap.pop()).toBeUndefined();
    expect(heap.peek()).toBeUndefined();
  });

  test('ties follow the order given: time, then id descending', () => {
    const heap = new MinHeap<{ at: number; id: string }>((a, b) => a.at < b.at || (a.at === b.at && a.id > b.id));
    for (const [at, id] of [
      [2, 'a'],
      [1, 'a'],
      [1, 'c'],
      [2, 'b'],
      [1, 'b'],
    ] as const)
      heap.push({ at, id });
    expect(heap.peek()).toEqual({ at: 1, id: 'c' });
    const out: string[] = [];
    while (heap.size > 0) {
      const { at, id } = heap.pop()!;
      out.push(`${at}${id}`);
    }
    expect(out).toEqual(['1c', '1b', '1a', '2b', '2a']);
  });
});
