/**
 * An image URL whose server redirects, hop by hop, towards an internal address is refused at
 * the hop that turns inward, before any request reaches it, and no chain runs past 3
 * redirects. The redirecting server sits on 127.0.0.2, fetchable only because
 * ATTACHMENT_URL_ALLOW names that one address; the internal target is another loopback
 * server on 127.0.0.1 that records every request.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startHarness, type Harness } from './helpers/harness.js';
import { dataUrl, png, seen } from './helpers/files.js';

interface TestServer {
  url: string;
  hits: string[];
  close(): Promise<void>;
}

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer;
}

async function serve(host: string, route: (path: string) => Answer): Promise<TestServer> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    const answer = route(req.url ?? '');
    res.writeHead(answer.status, answer.headers).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { url: `http://${host}:${(server.address() as AddressInfo).port}`, hits, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const photo = png(101);

describe('SSRF: redirect chains through the proxy', () => {
  let h: Harness;
  let internal: TestServer;
  let hops: TestServer;
  beforeAll(async () => {
    internal = await serve('127.0.0.1', () => ({ status: 200, headers: { 'content-type': 'image/png' }, body: photo }));
    const inward: Record<string, string> = {
      '/loop/b': `${internal.url}/secret.png`,
      '/name/b': `http://localhost:${new URL(internal.url).port}/secret.png`,
      '/meta/b': 'http://169.254.169.254/latest/meta-data/',
      '/ten/b': 'http://10.0.0.1/x.png',
    };
    hops = await serve('127.0.0.2', (path): Answer => {
      if (inward[path]) return { status: 302, headers: { location: inward[path] } };
      // /loop/a → /loop/b (and so on): the first hop stays on the allowed server.
      const first = /^\/(loop|name|meta|ten)\/a$/.exec(path);
      if (first) return { status: 302, headers: { location: `/${first[1]}/b` } };
      // /chain/N redirects to /chain/N-1; /chain/0 is the image.
      const chain = /^\/chain\/(\d+)$/.exec(path);
      if (chain) return Number(chain[1]) === 0 ? { status: 200, headers: { 'content-type': 'image/png' }, body: photo } : { status: 302, headers: { location: `/chain/${Number(chain[1]) - 1}` } };
      return { status: 404 };
    });
    h = await startHarness({ env: { KIMI_PROTOCOL: 'connect', KIMI_TOKENS: 'tok-ssrf', CONVERSATION_REUSE: 'off', ATTACHMENT_URL_ALLOW: '127.0.0.2' } });
  });
  afterAll(async () => {
    await h.close();
    await hops.close();
    await internal.close();
  });

  const send = (url: string) => postJson(h, { model: 'k2', messages: [{ role: 'user', content: [{ type: 'text', text: '[[emu files]]' }, { type: 'image_url', image_url: { url } }] }] });

  it.each([
    ['a loopback address', 'loop', '127.0.0.1'],
    ['a host name that resolves to loopback', 'name', 'localhost'],
    ['the cloud metadata address', 'meta', '169.254.169.254'],
    ['a private 10/8 address', 'ten', '10.0.0.1'],
  ])('302 → 302 → %s is refused with 400 naming the part, and nothing reaches the target', async (_what, chain, target) => {
    const res = await send(`${hops.url}/${chain}/a`);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'attachment_url_refused', param: 'messages[0].content[1]', message: expect.stringContaining(target) });
    expect(hops.hits).toEqual(expect.arrayContaining([`/${chain}/a`, `/${chain}/b`]));
    expect(internal.hits).toEqual([]);
    expect(h.emulator.stats().filesUploaded).toBe(0);
  });

  it('direct internal URLs in the spellings the earlier tests leave out are refused too, nothing reaching the target', async () => {
    const port = new URL(internal.url).port;
    for (const url of [`http://[::1]:${port}/a.png`, `http://0177.0.0.1:${port}/a.png`, `http://0x7f.0.0.1:${port}/a.png`, `http://[::ffff:127.0.0.1]:${port}/a.png`, 'http://10.0.0.1/a.png']) {
      const res = await send(url);
      expect(res.status, url).toBe(400);
      expect(res.json.error).toMatchObject({ code: 'attachment_url_refused', param: 'messages[0].content[1]' });
    }
    expect(internal.hits).toEqual([]);
  });

  it('3 redirects are followed; a 4th is refused before its target is requested', async () => {
    const ok = await send(`${hops.url}/chain/3`);
    expect(ok.status).toBe(200);
    expect(ok.json.choices[0].message.content).toBe(`Files: ${seen('0.png', 'image/png', photo)}.`);

    const before = hops.hits.length;
    const tooMany = await send(`${hops.url}/chain/4`);
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.error).toMatchObject({ code: 'attachment_url_refused', param: 'messages[0].content[1]', message: expect.stringContaining('more than 3 redirects') });
    expect(hops.hits.slice(before)).toEqual(['/chain/4', '/chain/3', '/chain/2', '/chain/1']);
  });

  it('a data URL next to a refused URL does not get through either: the request is refused as a whole', async () => {
    const uploads = h.emulator.stats().filesUploaded;
    const res = await postJson(h, {
      model: 'k2',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: dataUrl('image/png', png(102)) } }, { type: 'image_url', image_url: { url: `${hops.url}/meta/a` } }] }],
    });
    expect(res.status).toBe(400);
    expect(res.json.error.param).toBe('messages[0].content[1]');
    expect(h.emulator.stats().filesUploaded).toBe(uploads);
    expect(internal.hits).toEqual([]);
  });
});
