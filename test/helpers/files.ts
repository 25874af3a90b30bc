/** Small real files for attachment tests: the proxy types attachments from their bytes. */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateSync } from 'node:zlib';

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.byteLength);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid w×h RGB PNG whose pixels depend on `seed` (different seeds, different bytes). */
export function png(seed = 1, w = 2, h = 2): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows: number[] = [];
  for (let y = 0; y < h; y++) {
    rows.push(0);
    for (let x = 0; x < w * 3; x++) rows.push((seed * 31 + x * 7 + y * 13) & 0xff);
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.from(rows))), chunk('IEND', Buffer.alloc(0))]);
}

/** A minimal one-page PDF carrying `text`. */
export function pdf(text = 'hello'): Buffer {
  return Buffer.from(`%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n% ${text}\ntrailer<</Root 1 0 R>>\n%%EOF\n`);
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
export const dataUrl = (mime: string, b: Buffer): string => `data:${mime};base64,${b.toString('base64')}`;
/** How the emulator describes one attached file. */
export const seen = (name: string, mime: string, b: Buffer): string => `${name} (${mime}, ${b.byteLength} bytes, sha256 ${sha256(b)})`;

/** The emulator directive that makes the answer list the attached files (`Files: …; ….`). */
export const FILES_DIRECTIVE = '[[emu files]]';
/** The answer the emulator gives to FILES_DIRECTIVE, for [name, type, bytes] of each attached file in order. */
export const filesAnswer = (...files: Array<[string, string, Buffer]>): string => `Files: ${files.map(([n, m, b]) => seen(n, m, b)).join('; ')}.`;

export interface FileServer {
  /** `http://host:port`, without a trailing slash. */
  url: string;
  /** The path of every request that reached the server, in order. */
  hits: string[];
  close(): Promise<void>;
}

/** An HTTP file server on a loopback address, answering `files[path] = [type, bytes]` and recording every request. */
export async function fileServer(host: string, files: Record<string, [string, Buffer]>): Promise<FileServer> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    const file = files[req.url ?? ''];
    if (file) res.writeHead(200, { 'content-type': file[0] }).end(file[1]);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * 127.0.0.2 is loopback too (Linux routes 127/8 to lo), so a file server there is refused like
 * any internal address unless the proxy is started with ALLOWED_FILE_HOST_ENV, the documented
 * test option that names it.
 */
export const ALLOWED_FILE_HOST = '127.0.0.2';
export const ALLOWED_FILE_HOST_ENV = { ATTACHMENT_URL_ALLOW: ALLOWED_FILE_HOST } as const;
