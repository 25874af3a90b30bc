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
