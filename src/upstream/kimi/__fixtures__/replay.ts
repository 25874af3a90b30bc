/** Replays recorded upstream bytes through a decoder in every way the network may cut them. */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { ChatEvent } from '../../../core/chat-event.js';
import { byteByByte, mergeAdjacentDeltas, splitAt } from '../stream-util.js';

/** The outcome with adjacent same-kind deltas merged: what every split must agree on (how deltas are cut depends on the reads). */
function merged<T extends { events: ChatEvent[] }>(outcome: T): T {
  return { ...outcome, events: mergeAdjacentDeltas(outcome.events) };
}

/**
 * Decodes `bytes` whole, one byte at a time and in random splits, and expects every way to
 * agree once adjacent deltas are merged. Resolves to the outcome of the whole decode.
 */
export async function decodeEveryWay<T extends { events: ChatEvent[] }>(bytes: Uint8Array, decode: (chunks: Uint8Array[]) => Promise<T>): Promise<T> {
  const whole = await decode([bytes]);
  const expected = merged(whole);
  expect(merged(await decode(byteByByte(bytes)))).toEqual(expected);
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: 1, max: bytes.byteLength - 1 }), { maxLength: 24 }), async (cuts) => {
      expect(merged(await decode(splitAt(bytes, cuts)))).toEqual(expected);
    }),
    { numRuns: 60 },
  );
  return whole;
}
