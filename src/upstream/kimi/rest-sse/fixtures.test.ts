/**
 * Replays every REST fixture in __fixtures__/rest through the decoder, fed whole, one byte
 * at a time and in random splits; all modes must decode identically once adjacent deltas of one kind are merged
 * (how deltas are cut depends on the reads), and the result must
 * match the reviewed snapshot beside the fixture (`<name>.snap.json`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeEveryWay } from '../__fixtures__/replay.js';
import { collectOutcome, fromChunks } from '../stream-util.js';
import { decodeRestSse } from './decode.js';

const dir = fileURLToPath(new URL('../__fixtures__/rest/', import.meta.url));
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.sse')).sort();

function decode(chunks: Uint8Array[]) {
  return collectOutcome(decodeRestSse(fromChunks(chunks)));
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
      const whole = await decodeEveryWay(bytes, decode);
      await expect(`${JSON.stringify(whole, null, 2)}\n`).toMatchFileSnapshot(`../__fixtures__/rest/${name.replace(/\.sse$/, '')}.snap.json`);
    });
  }
});
