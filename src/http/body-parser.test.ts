import { request } from 'node:http';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyText, registerJsonBodyParser } from './body-parser.js';

describe('JSON request bodies', () => {
  const app = Fastify();
  let failure: unknown;
  beforeAll(async () => {
    registerJsonBodyParser(app);
    app.post('/echo', async (req) => ({ body: req.body ?? null }));
    app.setErrorHandler((err, _req, reply) => {
      failure = err;
      return reply.status(400).send({ failed: true });
    });
    await app.ready();
  });
  afterAll(async () => app.close());

  const post = (payload: string | Buffer, contentType = 'application/json') => app.inject({ method: 'POST', url: '/echo', payload, headers: { 'content-type': contentType } });

  it('reads UTF-8 text exactly (CJK, emoji, escapes) and ASCII bodies the same way', async () => {
    const value = { text: '你好，世界 👩🏽‍💻 café \u00e9 "quoted" \\ end', image: `data:image/png;base64,${Buffer.alloc(3000, 7).toString('base64')}` };
    const utf8 = await post(JSON.stringify(value));
    expect(utf8.json()).toEqual({ body: value });
    const ascii = await post(JSON.stringify({ text: 'plain ASCII \\u4f60', n: 1 }), 'text/plain');
    expect(ascii.json()).toEqual({ body: { text: 'plain ASCII \\u4f60', n: 1 } });
  });

  it('decodes a non-ASCII body as UTF-8, an ASCII one byte for byte', () => {
    expect(bodyText(Buffer.from('{"a":"é"}', 'utf8'))).toBe('{"a":"é"}');
    expect(bodyText(Buffer.from('{"a":"\\u00e9"}', 'utf8'))).toBe('{"a":"\\u00e9"}');
  });

  it('an empty body is no body; a broken one is invalid_json', async () => {
    expect((await post('  ')).json()).toEqual({ body: null });
    const broken = await post('{not json');
    expect(broken.statusCode).toBe(400);
    expect(failure).toMatchObject({ code: 'invalid_json' });
  });
});

describe('JSON request bodies with large data URLs', () => {
  const app = Fastify({ bodyLimit: 2_000_000 });
  let url = '';
  let failure: unknown;
  beforeAll(async () => {
    registerJsonBodyParser(app, { inlineMaxBytes: 1_000_000 });
    app.post('/echo', async (req) => ({
      body: req.body ?? null,
      inline: [...(req.inlineData ?? new Map()).entries()].map(([placeholder, f]) => ({ placeholder, mime: f.mime, base64: f.bytes.toString('base64') })),
    }));
    app.setErrorHandler((err, _req, reply) => {
      failure = err;
      return reply.status(400).send({ failed: true });
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => app.close());

  /** Sends `payload` cut at `cuts` (byte offsets), with or without a content-length (chunked). */
  function send(payload: Buffer, cuts: number[], sized: boolean): Promise<{ status: number; json: any }> {
    return new Promise((resolve, reject) => {
      const req = request(`${url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json', ...(sized ? { 'content-length': String(payload.length) } : {}) } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(parts).toString()) }));
      });
      req.on('error', reject);
      let at = 0;
      for (const cut of [...cuts, payload.length]) {
        req.write(payload.subarray(at, cut));
        at = cut;
      }
      req.end();
    });
  }

  const image = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31 + (i >> 8)) & 0xff));
  const dataUrl = `data:image/png;base64,${image.toString('base64')}`;
  const value = { text: '你好 "data:image/png;base64,AAAA" ✓', messages: [{ content: [{ type: 'image_url', image_url: { url: dataUrl } }] }] };
  const payload = Buffer.from(JSON.stringify(value), 'utf8');

  it('takes the data URL out wherever the chunks are cut, with and without a content-length', async () => {
    const start = payload.indexOf('"data:image/png;base64,', 60);
    for (const cuts of [[], [1], [start], [start + 1, start + 7], [start + 30, start + 1000, payload.length - 3], [payload.length - 1]]) {
      for (const sized of [true, false]) {
        const res = await send(payload, cuts, sized);
        expect(res.status).toBe(200);
        const placeholder = res.json.body.messages[0].content[0].image_url.url;
        expect(res.json.body.text).toBe(value.text);
        expect(res.json.inline).toEqual([{ placeholder, mime: 'image/png', base64: image.toString('base64') }]);
      }
    }
  });

  it('a small body is parsed as it is', async () => {
    const small = JSON.stringify({ image_url: { url: `data:image/png;base64,${image.subarray(0, 150_000).toString('base64')}` } });
    const res = await send(Buffer.from(small), [], true);
    expect(res.json).toEqual({ body: JSON.parse(small), inline: [] });
  });

  it('a body with a data URL that is not valid JSON is still invalid_json', async () => {
    const res = await send(payload.subarray(0, payload.length - 1), [], true);
    expect(res.status).toBe(400);
    expect(failure).toMatchObject({ code: 'invalid_json' });
  });

  it('a body at the limit is read; one byte more is FST_ERR_CTP_BODY_TOO_LARGE, declared or not', async () => {
    const filler = (n: number) => Buffer.from(JSON.stringify({ pad: 'x'.repeat(n - 10) }));
    expect(filler(2_000_000).length).toBe(2_000_000);
    expect((await send(filler(2_000_000), [1000], false)).status).toBe(200);
    for (const sized of [true, false]) {
      failure = undefined;
      await send(filler(2_000_001), [1000], sized).catch(() => undefined);
      expect(failure).toMatchObject({ code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    }
  });
});
