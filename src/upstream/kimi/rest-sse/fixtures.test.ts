/**
 * Replays every REST fixture in __fixtures__/rest through the decoder, fed whole, one byte
 * at a time and in random splits; all modes must decode identically once adjacent deltas of one kind are merged
 * (how deltas are cut depends on the reads), and the result must
 * match the reviewed snapshot beside the fixture (`<name>.snap.json`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../../core/chat-event.js';
import { byteByByte, collectOutcome, fromChunks, mergeAdjacentDeltas, splitAt } from '../stream-util.js';
import { decodeRestSse } from './decode.js';

const dir = fileURLToPath(new URL('../__fixtures__/rest/', import.meta.url));
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.sse')).sort();

function decode(chunks: Uint8Array[]) {
  return collectOutcome(decodeRestSse(fromChunks(chunks)));
}

/** The outcome with adjacent same-kind deltas merged: what every split must agree on. */
function merged<T extends { events: ChatEvent[] }>(outcome: T): T {
  return { ...outcome, events: mergeAdjacentDeltas(outcome.events) };
}

describe('REST SSE fixtures', () => {
  it('finds the fixtures', () => {
    expect(fixtures).toEqual(['crlf.sse', 'error.sse', 'length.sse', 'search.sse', 'thinking.sse']);
  });

  it('crlf.sse really uses CRLF line endings', () => {
    const text = readFileSync(`${dir}crlf.sse`, 'utf8');
    expect(text.includes('\r\n\r\n')).toBe(true);
    expect(text.replace(/\r\n/g, '').includes('\n')).toBe(false);
  });

  for (const name of fixtures) {
    it(`${name}: identical whole, byte by byte and in random splits; matches snapshot`, async () => {
      const bytes = new Uint8Array(readFileSync(`${dir}${name}`));
      const whole = await decode([bytes]);
      const expected = merged(whole);
      expect(merged(await decode(byteByByte(bytes)))).toEqual(expected);
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 1, max: bytes.byteLength - 1 }), { maxLength: 24 }), async (cuts) => {
          expect(merged(await decode(splitAt(bytes, cuts)))).toEqual(expected);
        }),
        { numRuns: 60 },
      );
      await expect(`${JSON.stringify(whole, null, 2)}\n`).toMatchFileSnapshot(`../__fixtures__/rest/${name.replace(/\.sse$/, '')}.snap.json`);
    });
  }
});
