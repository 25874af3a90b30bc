import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byteByByte, collectOutcome, concatBytes, fromChunks, splitAt } from '../stream-util.js';
import { decodeEnvelopes, encodeEnvelope, encodeJsonEnvelope, FLAG_END_STREAM, type DecodedEnvelope } from './envelope.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

async function frames(chunks: Uint8Array[], maxPayloadBytes?: number) {
  const r = await collectOutcome<DecodedEnvelope>(decodeEnvelopes(fromChunks(chunks), { maxPayloadBytes }));
  return { ...r, frames: r.events.map((f) => ({ flags: f.flags, text: dec.decode(f.payload) })) };
}

const a = encodeJsonEnvelope({ a: 1 });
const b = encodeJsonEnvelope({ b: 'two' });
const t = encodeJsonEnvelope({}, FLAG_END_STREAM);
const all = concatBytes([a, b, t]);
const expected = [
  { flags: 0, text: '{"a":1}' },
  { flags: 0, text: '{"b":"two"}' },
  { flags: 2, text: '{}' },
];

describe('decodeEnvelopes', () => {
  it('matches the spec example bytes', async () => {
    expect([...a]).toEqual([0x00, 0x00, 0x00, 0x00, 0x07, 0x7b, 0x22, 0x61, 0x22, 0x3a, 0x31, 0x7d]);
  });

  it('decodes several frames coalesced in one read', async () => {
    const r = await frames([all]);
    expect(r.error).toBeUndefined();
    expect(r.frames).toEqual(expected);
  });

  it('decodes frames fed one byte at a time', async () => {
    const r = await frames(byteByByte(all));
    expect(r.frames).toEqual(expected);
  });

  it('decodes frames in any split', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: all.byteLength - 1 }), { maxLength: 12 }), async (cuts) => {
        const r = await frames(splitAt(all, cuts));
        expect(r.error).toBeUndefined();
        expect(r.frames).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('does not copy a frame that sits whole in one read', async () => {
    const gen = decodeEnvelopes(fromChunks([all]));
    const first = await gen.next();
    expect(first.done).toBe(false);
    expect(first.value!.payload.buffer).toBe(all.buffer);
    expect(first.value!.payload.byteOffset).toBe(5);
  });

  it('yields zero-length frames', async () => {
    const r = await frames([encodeEnvelope(0, new Uint8Array(0)), t]);
    expect(r.frames).toEqual([
      { flags: 0, text: '' },
      { flags: 2, text: '{}' },
    ]);
  });

  it('rejects a stream truncated inside a header', async () => {
    const r = await frames([a, b.subarray(0, 3)]);
    expect(r.frames).toEqual([expected[0]]);
    expect(r.error?.code).toBe('upstream_protocol_error');
    expect(r.error?.message).toMatch(/truncated/);
  });

  it('rejects a stream truncated inside a payload', async () => {
    const r = await frames([a, b.subarray(0, b.byteLength - 1)]);
    expect(r.frames).toEqual([expected[0]]);
    expect(r.error?.code).toBe('upstream_protocol_error');
    expect(r.error?.message).toMatch(/ended inside a Connect frame/);
  });

  it('rejects an oversized frame from its header, before reading (or allocating) the payload', async () => {
    let pulledAfterHeader = false;
    async function* body(): AsyncGenerator<Uint8Array> {
      // Header claims 0xFFFFFFF0 bytes; a few payload bytes arrive in the same read.
      yield new Uint8Array([0x00, 0xff, 0xff, 0xff, 0xf0, 0x7b, 0x7d]);
      pulledAfterHeader = true;
      yield new Uint8Array(1024);
    }
    const r = await collectOutcome(decodeEnvelopes(body(), { maxPayloadBytes: 1024 }));
    expect(r.error?.code).toBe('upstream_protocol_error');
    expect(r.error?.message).toMatch(/over the 1024-byte limit/);
    expect(pulledAfterHeader).toBe(false);
  });

  it('delivers the frames before an oversized header in the same read, then fails', async () => {
    const r = await frames([concatBytes([a, new Uint8Array([0x00, 0x7f, 0xff, 0xff, 0xff])])], 1024);
    expect(r.frames).toEqual([expected[0]]);
    expect(r.error?.code).toBe('upstream_protocol_error');
  });

  it('applies the 4 MiB default limit', async () => {
    const header = new Uint8Array([0x00, 0x00, 0x40, 0x00, 0x01]); // 4 MiB + 1
    const r = await frames([header]);
    expect(r.error?.message).toMatch(/over the 4194304-byte limit/);
    const ok = new Uint8Array([0x00, 0x00, 0x40, 0x00, 0x00]); // exactly 4 MiB, then truncated
    const r2 = await frames([ok]);
    expect(r2.error?.message).toMatch(/ended inside a Connect frame/);
  });

  it('rejects the compressed flag', async () => {
    const r = await frames([encodeEnvelope(0x01, enc.encode('{}'))]);
    expect(r.error?.code).toBe('upstream_protocol_error');
    expect(r.error?.message).toMatch(/compressed/);
  });

  it('an empty body yields nothing', async () => {
    const r = await frames([]);
    expect(r.frames).toEqual([]);
    expect(r.error).toBeUndefined();
  });
});
