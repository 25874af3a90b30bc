import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readBody } from './body-reader.js';

interface Outcome {
  err: (Error & { code?: string; statusCode?: number }) | null;
  body?: Buffer;
}

/** Feeds `chunks` through a stream into the reader; settles with what the reader reported. */
function read(chunks: ReadonlyArray<Buffer | string>, contentLength: string | undefined, limit: number, end: 'end' | Error = 'end'): Promise<Outcome> {
  return new Promise((resolve) => {
    const stream = new PassThrough();
    stream.pause();
    readBody(stream, contentLength, limit, (err, body) => resolve(body === undefined ? { err } : { err, body }));
    for (const c of chunks) stream.write(c);
    if (end === 'end') stream.end();
    else stream.destroy(end);
  });
}

const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) % 256));

describe('the body reader', () => {
  it('gives the exact bytes wherever the chunks are cut, with and without a declared length', async () => {
    for (const cuts of [[1000], [1, 999], [500, 500], [999, 1], [3, 10, 300, 687]]) {
      const chunks: Buffer[] = [];
      let at = 0;
      for (const n of cuts) chunks.push(bytes.subarray(at, (at += n)));
      for (const declared of ['1000', undefined]) {
        const { err, body } = await read(chunks, declared, 1000);
        expect(err).toBeNull();
        expect(body!.equals(bytes)).toBe(true);
      }
    }
  });

  it('grows past its first size for a long body of unknown length', async () => {
    const big = Buffer.alloc(200_000, 0x61);
    big[199_999] = 0x62;
    const chunks = Array.from({ length: 20 }, (_, i) => big.subarray(i * 10_000, (i + 1) * 10_000));
    const { body } = await read(chunks, undefined, 1_000_000);
    expect(body!.equals(big)).toBe(true);
  });

  it('never hands out memory it shares with the chunks it was given', async () => {
    const chunk = Buffer.from('{"a":1}');
    const { body } = await read([chunk], '7', 100);
    chunk.fill(0);
    expect(body!.toString()).toBe('{"a":1}');
  });

  it('takes a body exactly at the limit and refuses one byte more, declared or received, as Fastify does', async () => {
    expect((await read([bytes], '1000', 1000)).body!.length).toBe(1000);
    const declared = await read([], '1001', 1000);
    expect(declared.err).toMatchObject({ code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 });
    const received = await read([bytes, 'x'], undefined, 1000);
    expect(received.err).toMatchObject({ code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 });
  });

  it('refuses a body shorter or longer than its declared length', async () => {
    expect((await read([bytes.subarray(0, 999)], '1000', 5000)).err).toMatchObject({ code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH', statusCode: 400 });
    expect((await read([bytes, 'x'], '1000', 5000)).err).toMatchObject({ code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH', statusCode: 400 });
  });

  it('passes a stream error on as a client error', async () => {
    const { err } = await read(['{"a"'], '100', 1000, new Error('aborted'));
    expect(err).toMatchObject({ message: 'aborted', statusCode: 400 });
  });

  it('an empty body is an empty buffer', async () => {
    expect((await read([], '0', 10)).body!.length).toBe(0);
    expect((await read([], undefined, 10)).body!.length).toBe(0);
  });
});
