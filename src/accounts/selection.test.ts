import { describe, expect, it } from 'vitest';
import { integerWeights, orderCandidates, ringOrder, weightedRing } from './selection.js';

describe('selection', () => {
  it('reduces weights to small integers with the same ratios', () => {
    expect(integerWeights([1, 1, 1])).toEqual([1, 1, 1]);
    expect(integerWeights([2, 1, 0.5])).toEqual([4, 2, 1]);
    expect(integerWeights([3, 6])).toEqual([1, 2]);
  });

  it('spreads a heavy account evenly over the ring', () => {
    expect(weightedRing([2, 1])).toEqual([0, 1, 0]);
    expect(weightedRing([1, 1, 1])).toEqual([0, 1, 2]);
    const ring = weightedRing([5, 1]);
    expect(ring.filter((i) => i === 1)).toHaveLength(1);
    expect(ring).toHaveLength(6);
  });

  it('walks the ring from any position, each index once', () => {
    expect(ringOrder([0, 1, 0, 2], 2)).toEqual([0, 2, 1]);
    expect(ringOrder([0, 1, 2], -1)).toEqual([2, 0, 1]);
    expect(ringOrder([], 5)).toEqual([]);
  });

  it('orders least-in-flight by load per weight, ties by the ring', () => {
    const c = [
      { index: 0, weight: 1, inFlight: 1 },
      { index: 1, weight: 2, inFlight: 1 },
      { index: 2, weight: 1, inFlight: 0 },
    ];
    expect(orderCandidates('least-in-flight', c, 0).map((x) => x.index)).toEqual([2, 1, 0]);
    // Ring for weights 1, 2, 1 is [1, 0, 2, 1]: position 1 starts at index 0.
    expect(orderCandidates('round-robin', c, 1).map((x) => x.index)).toEqual([0, 2, 1]);
  });
});
