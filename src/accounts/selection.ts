/**
 * Order in which ready accounts are tried. Round-robin walks a smooth weighted ring (an
 * account of weight 2 appears twice per cycle, spread out) from a position the store hands
 * out, so that a shared store makes the rotation cluster-wide. Least-in-flight prefers the
 * account with the fewest running requests per unit of weight, ties broken by the ring.
 * Fill-first uses one account until it cannot take a request, then the next in weight order.
 */
import { BoundedCache } from '../core/bounded-cache.js';

/** Integer weights with the same ratios (0.1 precision), reduced and bounded so a cycle stays short. */
export function integerWeights(weights: readonly number[]): number[] {
  let ints = weights.map((w) => Math.max(1, Math.round((Number.isFinite(w) && w > 0 ? w : 1) * 10)));
  const divisor = ints.reduce(gcd, 0) || 1;
  ints = ints.map((w) => w / divisor);
  const total = ints.reduce((a, b) => a + b, 0);
  const limit = 10_000;
  if (total > limit) ints = ints.map((w) => Math.max(1, Math.round((w * limit) / total)));
  return ints;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** One cycle of smooth weighted round-robin (as in nginx): indexes into `weights`, evenly spread. */
export function weightedRing(weights: readonly number[]): number[] {
  const ints = integerWeights(weights);
  const total = ints.reduce((a, b) => a + b, 0);
  const current = ints.map(() => 0);
  const ring: number[] = [];
  for (let step = 0; step < total; step++) {
    let best = 0;
    for (let i = 0; i < ints.length; i++) {
      current[i]! += ints[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    ring.push(best);
  }
  return ring;
}

/** Distinct indexes in ring order starting at `position` (which may be any integer). */
export function ringOrder(ring: readonly number[], position: number): number[] {
  const seen = new Set<number>();
  const out: number[] = [];
  if (ring.length === 0) return out;
  const start = ((position % ring.length) + ring.length) % ring.length;
  for (let k = 0; k < ring.length; k++) {
    const idx = ring[(start + k) % ring.length]!;
    if (!seen.has(idx)) {
      seen.add(idx);
      out.push(idx);
    }
  }
  return out;
}

export interface SelectionCandidate {
  index: number;
  weight: number;
  inFlight: number;
}

/**
 * Ready candidates in the order to try them. The ring is built over the candidates only, so
 * an unavailable account's share spreads over the others instead of going to its neighbour.
 */
export function orderCandidates(
  strategy: 'round-robin' | 'least-in-flight' | 'fill-first',
  candidates: readonly SelectionCandidate[],
  position: number,
  ringFor: (weights: readonly number[]) => readonly number[] = weightedRing,
): SelectionCandidate[] {
  // One account until it cannot serve (cooling, resting, full), then the next: heaviest first, then configured order.
  if (strategy === 'fill-first') return [...candidates].sort((a, b) => b.weight - a.weight || a.index - b.index);
  const ring = ringFor(candidates.map((c) => c.weight));
  const rr = ringOrder(ring, position).map((i) => candidates[i]!);
  if (strategy === 'round-robin') return rr;
  const rank = new Map(rr.map((c, i) => [c.index, i]));
  return [...rr].sort((a, b) => a.inFlight / a.weight - b.inFlight / b.weight || rank.get(a.index)! - rank.get(b.index)!);
}

/** Memoises rings by weight list (the candidate set changes rarely). */
export function ringCache(max = 64): (weights: readonly number[]) => readonly number[] {
  const cache = new BoundedCache<string, number[]>(max);
  return (weights) => cache.getOrMake(weights.join(','), () => weightedRing(weights));
}
