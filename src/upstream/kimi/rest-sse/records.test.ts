import { createParser } from 'eventsource-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PLAIN_STRING } from '../json-shape.js';
import { splitAt } from '../stream-util.js';
import { KimiSseRecords } from './records.js';

/** What a consumer sees: every record's data, a fast-path delta written back as its record. */
function viaRecords(parts: readonly string[], maxEventBytes = 1 << 20): { data: string[]; fast: number; tooLarge: boolean } {
  const data: string[] = [];
  let fast = 0;
  let tooLarge = false;
  const records = new KimiSseRecords(
    {
      plainText: (text) => {
        fast++;
        data.push(`{"event":"cmpl","text":"${text}"}`);
      },
      data: (d) => data.push(d),
      tooLarge: () => (tooLarge = true),
    },
    maxEventBytes,
  );
  for (const part of parts) records.feed(part);
  return { data, fast, tooLarge };
}

/** The library alone: the reference. */
function viaParser(parts: readonly string[]): string[] {
  const data: string[] = [];
  const parser = createParser({ onEvent: (msg) => data.push(msg.data) });
  for (const part of parts) parser.feed(part);
  return data;
}

const PLAIN = new RegExp(`^${PLAIN_STRING}$`);
const plainDelta = fc.string({ maxLength: 12 }).filter((t) => PLAIN.test(t));
/** Record texts: Kimi's own, near misses of the fast path, and the rest of the SSE grammar. */
const record = fc.oneof(
  plainDelta.map((t) => `data: {"event":"cmpl","text":"${t}"}\n\n`),
  plainDelta.map((t) => `data:{"event":"cmpl","text":"${t}"}\n\n`),
  fc.constant('data: {"event":"cmpl","text":"a\\"b"}\n\n'),
  fc.constant('data: {"event":"cmpl", "text":"x"}\n\n'),
  fc.constant('data: {"event":"req","id":"r1"}\n\n'),
  fc.constant('event: message\ndata: {"event":"cmpl","text":"e"}\n\n'),
  fc.constant('data: {"event":"cmpl","text":"a"}\ndata: {"event":"cmpl","text":"b"}\n\n'),
  fc.constant(': keep-alive\n\n'),
  fc.constant('id: 7\n\n'),
  fc.constant('\n'),
  fc.constant('data: {"event":"cmpl","text":"no blank line"}\n'),
);

describe('KimiSseRecords', () => {
  it('delivers exactly what eventsource-parser delivers, however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 6 }), fc.constantFrom('\n', '\r\n', '\r'), (records, offsets, lineEnd) => {
        const text = records.join('').replaceAll('\n', lineEnd);
        const parts = splitAt(text, offsets.map((o) => o % (text.length + 1)));
        expect(viaRecords(parts).data).toEqual(viaParser(parts));
      }),
      { numRuns: 1000 },
    );
  });

  it('takes whole plain delta records without the general parser, also after a record cut between reads', () => {
    const rec = (t: string) => `data: {"event":"cmpl","text":"${t}"}\n\n`;
    const parts = [rec('a') + rec('b') + 'data: {"event":"cmpl","te', 'xt":"c"}\n', '\n' + rec('d') + rec('e')];
    const got = viaRecords(parts);
    expect(got.data.map((d) => (JSON.parse(d) as { text: string }).text)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(got.fast).toBe(4);
  });

  it('reports a record that outgrows the limit across reads, and nothing after it', () => {
    const got = viaRecords(['data: {"event":"cmpl","text":"', 'x'.repeat(40), 'x"}\n\ndata: {"event":"cmpl","text":"y"}\n\n'], 32);
    expect(got.tooLarge).toBe(true);
    expect(got.data).toEqual([]);
  });
});
