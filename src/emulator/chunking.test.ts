import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chatRequest, connectChat, createRestChat, decodeFrames, restCompletion } from './__fixtures__/wire.js';
import { startEmulator, type Emulator } from './index.js';
import { hostilePieces, mulberry32 } from './prng.js';

let emu: Emulator;
beforeEach(async () => {
  emu = await startEmulator();
});
afterEach(async () => {
  await emu.close();
});

const TOKEN = 'chunk-token';
const SCRIPT = 'reply="héllo wörld 😀 — ok. 中文 end" deltas=7 search=2 cite';

/** Replaces per-request ids, timestamps and digest-derived titles with same-length placeholders. */
function normalize(body: Buffer): Buffer {
  const text = body
    .toString('latin1')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-8000-[0-9a-f]{12}/g, (m) => 'U'.repeat(m.length))
    .replace(/"id":"[0-9a-v]{20}"/g, (m) => 'I'.repeat(m.length))
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z/g, (m) => 'T'.repeat(m.length))
    .replace(/Chat [0-9a-f]{8}/g, (m) => 'N'.repeat(m.length))
    // The Connect user echo repeats the prompt; prompts differ only in the chunking value (same length).
    .replace(/chunking=[a-z]+/g, (m) => 'C'.repeat(m.length));
  return Buffer.from(text, 'latin1');
}

describe('hostile chunking', () => {
  it('splits into 1..7-byte pieces that reassemble exactly, reproducibly per seed', () => {
    const bytes = Buffer.from('data: {"event":"cmpl","text":"😀中文é"}\n\n'.repeat(20));
    const a = hostilePieces(bytes, mulberry32(42));
    const b = hostilePieces(bytes, mulberry32(42));
    expect(a.map((p) => p.byteLength)).toEqual(b.map((p) => p.byteLength));
    expect(a.every((p) => p.byteLength >= 1 && p.byteLength <= 7)).toBe(true);
    expect(new Set(a.map((p) => p.byteLength)).size).toBeGreaterThan(3);
    expect(Buffer.concat(a)).toEqual(bytes);
    // Some boundary falls inside a multi-byte UTF-8 character (a continuation byte starts a piece).
    expect(a.some((p) => (p[0]! & 0xc0) === 0x80)).toBe(true);
    const c = hostilePieces(bytes, mulberry32(43));
    expect(c.map((p) => p.byteLength)).not.toEqual(a.map((p) => p.byteLength));
  });

  it('REST: the hostile stream reassembles to the same bytes as the normal stream', async () => {
    const chatA = await createRestChat(emu.url, TOKEN);
    const chatB = await createRestChat(emu.url, TOKEN);
    const normal = await restCompletion(emu.url, TOKEN, chatA, `[[emu ${SCRIPT} crlf]]`, { use_search: true });
    const hostile = await restCompletion(emu.url, TOKEN, chatB, `[[emu ${SCRIPT} crlf chunking=hostile seed=7]]`, { use_search: true });
    expect(normal.reads.length).toBeLessThanOrEqual(2);
    expect(hostile.reads.length).toBeGreaterThan(normal.reads.length);
    expect(normalize(hostile.body)).toEqual(normalize(normal.body));
    expect(hostile.body.toString('utf8')).toContain('😀');
  });

  it('Connect: hostile and byte chunking reassemble to the same bytes as the normal stream', async () => {
    // An unknown chunking value means none; `zzzzzzz`/`zzzz` keep the prompts the same length.
    const normal = await connectChat(emu.url, TOKEN, chatRequest(`[[emu ${SCRIPT} chunking=zzzzzzz]]`, { search: true }));
    const normal4 = await connectChat(emu.url, TOKEN, chatRequest(`[[emu ${SCRIPT} chunking=zzzz]]`, { search: true }));
    const hostile = await connectChat(emu.url, TOKEN, chatRequest(`[[emu ${SCRIPT} chunking=hostile]]`, { search: true }));
    const bytewise = await connectChat(emu.url, TOKEN, chatRequest(`[[emu ${SCRIPT} chunking=byte]]`, { search: true }));
    expect(normalize(hostile.body)).toEqual(normalize(normal.body));
    expect(normalize(bytewise.body)).toEqual(normalize(normal4.body));
    expect(decodeFrames(hostile.body).frames.length).toBe(decodeFrames(normal.body).frames.length);
    expect(hostile.reads.length).toBeGreaterThan(normal.reads.length);
    expect(Math.max(...bytewise.reads)).toBeLessThan(normal.body.byteLength);
  });
});

describe('one write per event', () => {
  it('REST: with writes=event every SSE record reaches the client in a read of its own', async () => {
    const chatA = await createRestChat(emu.url, TOKEN);
    const chatB = await createRestChat(emu.url, TOKEN);
    const batched = await restCompletion(emu.url, TOKEN, chatA, '[[emu deltas=50]]');
    const perEvent = await restCompletion(emu.url, TOKEN, chatB, '[[emu deltas=50 writes=event]]');
    const records = perEvent.body.toString('utf8').split('\n\n').filter(Boolean);
    expect(records).toHaveLength(53); // req, resp, 50 × cmpl, all_done
    expect(batched.reads.length).toBeLessThanOrEqual(2);
    // The client's first read may also hold the records written before it started reading.
    const sizes = records.map((r) => Buffer.byteLength(`${r}\n\n`));
    expect(perEvent.reads.length).toBeGreaterThanOrEqual(sizes.length - 2);
    expect(perEvent.reads.slice(1)).toEqual(sizes.slice(sizes.length - perEvent.reads.length + 1));
  });

  it('Connect: with writes=event every frame reaches the client in a read of its own', async () => {
    const batched = await connectChat(emu.url, TOKEN, chatRequest('[[emu deltas=50]]'));
    const perEvent = await connectChat(emu.url, TOKEN, chatRequest('[[emu deltas=50 writes=event]]'));
    const frames = decodeFrames(perEvent.body).frames;
    expect(frames.length).toBeGreaterThan(50);
    expect(batched.reads.length).toBeLessThanOrEqual(2);
    // The client's first read may also hold the frames written before it started reading.
    expect(perEvent.reads.length).toBeGreaterThanOrEqual(frames.length - 2);
    const sizes: number[] = [];
    for (let at = 0; at < perEvent.body.byteLength; at += sizes.at(-1)!) sizes.push(5 + perEvent.body.readUInt32BE(at + 1));
    expect(perEvent.reads.slice(1)).toEqual(sizes.slice(sizes.length - perEvent.reads.length + 1));
  });
});
