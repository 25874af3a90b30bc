/**
 * Replays every Connect fixture in __fixtures__/connect (JSON arrays of `{flags, json}`
 * frames, encoded here into envelopes) through the decoder, fed whole, one byte at a time
 * and in random splits; all modes must decode identically once adjacent deltas of one kind are merged
 * (how deltas are cut depends on the reads), and the result must match the
 * reviewed snapshot beside the fixture (`<name>.snap.json`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeEveryWay } from '../__fixtures__/replay.js';
import { collectOutcome, concatBytes, fromChunks } from '../stream-util.js';
import { decodeConnectChat } from './decode.js';
import { encodeJsonEnvelope } from './envelope.js';

const dir = fileURLToPath(new URL('../__fixtures__/connect/', import.meta.url));
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.endsWith('.snap.json')).sort();

interface FixtureFrame {
  flags: number;
  json: unknown;
}

function load(name: string): Uint8Array {
  const frames = JSON.parse(readFileSync(`${dir}${name}`, 'utf8')) as FixtureFrame[];
  return concatBytes(frames.map((f) => encodeJsonEnvelope(f.json, f.flags)));
}

function decode(chunks: Uint8Array[]) {
  const unknown: string[] = [];
  return collectOutcome(decodeConnectChat(fromChunks(chunks), { onUnknownMask: (m) => unknown.push(m) })).then((r) => ({ ...r, unknown }));
}

describe('Connect fixtures', () => {
  it('finds the fixtures', () => {
    expect(fixtures).toEqual([
      'error-trailer.json',
      'exception.json',
      'search-2025.json',
      'set-replaces-block.json',
      'thinking.json',
      'tool-search-2026.json',
      'typical.json',
    ]);
  });

  for (const name of fixtures) {
    it(`${name}: identical whole, byte by byte and in random splits; matches snapshot`, async () => {
      const bytes = load(name);
      const whole = await decodeEveryWay(bytes, decode);
      await expect(`${JSON.stringify(whole, null, 2)}\n`).toMatchFileSnapshot(`../__fixtures__/connect/${name.replace(/\.json$/, '')}.snap.json`);
    });
  }
});
