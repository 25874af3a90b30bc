/**
 * SSRF refusals of the attachment fetcher: every internal target is refused before a byte is
 * sent to it, the loopback test servers record that nothing reached them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UrlFetcher } from './url-fetch.js';

interface TestServer {
  url: string;
  hits: string[];
  close(): Promise<void>;
}

async function serve(host: string, handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<TestServer> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

describe('UrlFetcher', () => {
  let internal: TestServer;
  let allowed: TestServer;
  let fetcher: UrlFetcher;
  let strict: UrlFetcher;
  beforeAll(async () => {
    internal = await serve('127.0.0.1', (_req, res) => res.end(PNG));
    // 127.0.0.2 is loopback too (Linux routes 127/8 to lo); the fetcher is told to allow it.
    allowed = await serve('127.0.0.2', (req, res) => {
      if (req.url === '/pic.png') return res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
      if (req.url === '/to-internal') return res.writeHead(302, { location: `${internal.url}/secret.png` }).end();
      if (req.url === '/loop') return res.writeHead(302, { location: '/loop' }).end();
      if (req.url === '/huge') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.write(Buffer.alloc(4096));
        res.end(Buffer.alloc(4096));
        return;
      }
      res.writeHead(404).end();
    });
    fetcher = new UrlFetcher({ allow: ['127.0.0.2'], connectTimeoutMs: 2_000, totalTimeoutMs: 5_000, maxRedirects: 3 });
    strict = new UrlFetcher({ allow: [], connectTimeoutMs: 2_000, totalTimeoutMs: 5_000, maxRedirects: 3 });
  });
  afterAll(async () => {
    await fetcher.close();
    await strict.close();
    await internal.close();
    await allowed.close();
  });

  const get = (f: UrlFetcher, url: string, maxBytes = 1 << 20) => f.fetch(url, { maxBytes, param: 'p', signal: new AbortController().signal });

  it('refuses loopback, private, link-local/metadata and unspecified addresses in every spelling', async () => {
    const port = new URL(internal.url).port;
    const targets = [
      `http://127.0.0.1:${port}/a.png`,
      `http://[::1]:${port}/a.png`,
      `http://[::ffff:127.0.0.1]:${port}/a.png`,
      `http://2130706433:${port}/a.png`,
      `http://0177.0.0.1:${port}/a.png`,
      `http://0x7f.1:${port}/a.png`,
      `http://0.0.0.0:${port}/a.png`,
      'http://169.254.169.254/latest/meta-data/',
      'http://10.1.2.3/a.png',
      'http://192.168.0.1/a.png',
      'http://[fd00:ec2::254]/a.png',
    ];
    for (const url of targets) {
      await expect(get(strict, url), url).rejects.toMatchObject({ code: 'attachment_url_refused', param: 'p' });
    }
    expect(internal.hits).toEqual([]);
  });

  it('refuses a host name that resolves to a private address, checked in the connection lookup', async () => {
    const port = new URL(internal.url).port;
    await expect(get(strict, `http://localhost:${port}/a.png`)).rejects.toMatchObject({
      code: 'attachment_url_refused',
      message: expect.stringContaining('localhost resolves to'),
    });
    expect(internal.hits).toEqual([]);
  });

  it('re-checks every redirect, and stops after three', async () => {
    await expect(get(fetcher, `${allowed.url}/to-internal`)).rejects.toMatchObject({ code: 'attachment_url_refused' });
    expect(internal.hits).toEqual([]);
    await expect(get(fetcher, `${allowed.url}/loop`)).rejects.toMatchObject({ code: 'attachment_url_refused', message: expect.stringContaining('redirects') });
    expect(allowed.hits.filter((h) => h === '/loop')).toHaveLength(4);
  });

  it('fetches an allowed URL, caps the size while streaming, and reports remote errors', async () => {
    const ok = await get(fetcher, `${allowed.url}/pic.png`);
    expect(ok).toEqual({ bytes: PNG, mime: 'image/png', name: 'pic.png' });
    await expect(get(fetcher, `${allowed.url}/huge`, 5_000)).rejects.toMatchObject({ code: 'attachment_too_large' });
    await expect(get(fetcher, `${allowed.url}/missing.png`)).rejects.toMatchObject({ code: 'attachment_fetch_failed', message: expect.stringContaining('404') });
    await expect(get(fetcher, 'ftp://example.com/a.png')).rejects.toMatchObject({ code: 'attachment_url_refused' });
  });
});
