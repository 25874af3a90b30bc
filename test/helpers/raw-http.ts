/**
 * A raw HTTP/1.1 client over one TCP socket, for tests that control reading byte by byte
 * (slow clients, backpressure) and for request shapes `fetch` refuses to send.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface RawResponseHead {
  status: number;
  headers: Record<string, string>;
}

/** Incremental parser of an HTTP/1.1 response with a chunked or close-delimited body. */
export class ResponseParser {
  head: RawResponseHead | undefined;
  /** The body ended (terminating chunk seen). */
  done = false;
  private buf: Buffer = Buffer.alloc(0);
  private chunkLeft = -1;
  private chunked = false;

  constructor(private readonly onBody: (bytes: Buffer) => void) {}

  push(data: Buffer): void {
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    if (!this.head) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = this.buf.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(lines[0]!.split(' ')[1]);
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      this.head = { status, headers };
      this.chunked = /chunked/i.test(headers['transfer-encoding'] ?? '');
      this.buf = this.buf.subarray(end + 4);
    }
    if (!this.chunked) {
      if (this.buf.length > 0) this.onBody(this.buf);
      this.buf = Buffer.alloc(0);
      return;
    }
    for (;;) {
      if (this.done) return;
      if (this.chunkLeft <= 0) {
        if (this.chunkLeft === 0) {
          // CRLF after a chunk's data.
          if (this.buf.length < 2) return;
          this.buf = this.buf.subarray(2);
          this.chunkLeft = -1;
        }
        const eol = this.buf.indexOf('\r\n');
        if (eol < 0) return;
        const size = parseInt(this.buf.subarray(0, eol).toString('latin1'), 16);
        this.buf = this.buf.subarray(eol + 2);
        if (size === 0) {
          this.done = true;
          return;
        }
        this.chunkLeft = size;
      }
      if (this.buf.length === 0) return;
      const take = Math.min(this.chunkLeft, this.buf.length);
      this.onBody(this.buf.subarray(0, take));
      this.buf = this.buf.subarray(take);
      this.chunkLeft -= take;
    }
  }
}

/**
 * Splits an SSE body into `data:` payloads as bytes arrive, holding only the unfinished
 * record (so a long stream can be checked without keeping it).
 */
export class SseSplitter {
  private rest = '';
  private readonly decoder = new TextDecoder();
  comments = 0;

  constructor(private readonly onData: (data: string) => void) {}

  push(bytes: Uint8Array): void {
    this.rest += this.decoder.decode(bytes, { stream: true });
    let end: number;
    while ((end = this.rest.indexOf('\n\n')) >= 0) {
      const record = this.rest.slice(0, end);
      this.rest = this.rest.slice(end + 2);
      if (record.startsWith(':')) this.comments += 1;
      else if (record.startsWith('data: ')) this.onData(record.slice(6));
    }
  }
}

/** Opens a TCP connection to `base` (http://host:port). */
export async function openSocket(base: string, opts: { highWaterMark?: number } = {}): Promise<Socket> {
  const url = new URL(base);
  const socket = connect({ host: url.hostname, port: Number(url.port), ...(opts.highWaterMark ? { highWaterMark: opts.highWaterMark } : {}) });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** Sends raw request bytes and returns the whole response (status, headers, body) once the server answered. */
export async function rawRequest(base: string, request: Buffer | string, timeoutMs = 10_000): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const socket = await openSocket(base);
  const parts: Buffer[] = [];
  const parser = new ResponseParser((b) => parts.push(Buffer.from(b)));
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('raw request timed out')), timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        if (!parser.head) return reject(new Error('connection closed without a response'));
        resolve({ ...parser.head, body: Buffer.concat(parts).toString('utf8') });
      };
      socket.on('data', (d: Buffer) => {
        parser.push(d);
        const length = parser.head?.headers['content-length'];
        const received = parts.reduce((n, p) => n + p.length, 0);
        if (parser.done || (length !== undefined && received >= Number(length))) finish();
      });
      socket.on('end', finish);
      socket.on('close', finish);
      socket.on('error', () => undefined);
      socket.write(request);
    });
  } finally {
    socket.destroy();
  }
}

/** A TCP server that accepts connections and never answers (first-byte timeouts). */
export async function startSilentServer(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port with nothing listening on it (connection refused). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
