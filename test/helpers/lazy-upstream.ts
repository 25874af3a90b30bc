/**
 * A minimal Kimi REST upstream (create chat, completion stream, delete chat) that produces a
 * long answer lazily: each delta is generated only when the previous one fit into the socket,
 * so it holds no more than one delta however slowly the proxy reads. Memory measured in this
 * process then belongs to the proxy, not to the upstream.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface LazyUpstream {
  url: string;
  /** Deltas handed to the socket so far. */
  generated(): number;
  streamsCompleted(): number;
  streamsCancelled(): number;
  close(): Promise<void>;
}

export interface LazyUpstreamOptions {
  deltas: number;
  delta: (index: number) => string;
}

export async function startLazyUpstream(opts: LazyUpstreamOptions): Promise<LazyUpstream> {
  let generated = 0;
  let completed = 0;
  let cancelled = 0;
  let chats = 0;
  const sockets = new Set<Socket>();

  const stream = async (res: ServerResponse): Promise<void> => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const record = (value: unknown): string => `data: ${JSON.stringify(value)}\n\n`;
    res.write(record({ event: 'req', id: `seg-${chats}` }) + record({ event: 'resp' }));
    for (let i = 0; i < opts.deltas; i++) {
      if (res.destroyed) {
        cancelled += 1;
        return;
      }
      // Waits on the write's own callback (its bytes reached the kernel) rather than on
      // 'drain', which Node 26 can fail to emit (nodejs/node#60432).
      let written!: () => void;
      const handedOver = new Promise<void>((resolve) => (written = resolve));
      const fits = res.write(record({ event: 'cmpl', text: opts.delta(i) }), () => written());
      generated += 1;
      if (!fits) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            res.off('close', done);
            resolve();
          };
          void handedOver.then(done);
          res.on('close', done);
        });
      }
    }
    res.end(record({ event: 'all_done' }));
    completed += 1;
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    req.resume();
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      const json = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'POST' && path === '/api/chat') {
        chats += 1;
        return json(200, { id: `lazy-chat-${chats}`, name: 'chat' });
      }
      if (req.method === 'POST' && /^\/api\/chat\/[^/]+\/completion\/stream$/.test(path)) {
        void stream(res);
        return;
      }
      if (req.method === 'DELETE' && path.startsWith('/api/chat/')) return json(200, {});
      return json(404, { error_type: 'not_found', message: `no route ${req.method} ${path}` });
    });
  };

  const server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    generated: () => generated,
    streamsCompleted: () => completed,
    streamsCancelled: () => cancelled,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
