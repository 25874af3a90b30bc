/**
 * The floor a proxy is compared against: a forwarder that understands nothing. Each request
 * is piped to UPSTREAM_URL as is (same method, path, headers and body bytes) and the upstream
 * response is piped back as is; only hop-by-hop headers are dropped. No parsing, no
 * buffering beyond what the sockets do, backpressure both ways, a client that leaves aborts
 * its upstream request.
 *
 * Run as a child of the benchmark: env UPSTREAM_URL, PORT; answers `bench-probe` messages
 * over IPC like kimi-proxy's diagnostics hook.
 */
import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Agent } from 'undici';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

function main(): void {
  const upstream = new URL(process.env.UPSTREAM_URL ?? '');
  const origin = upstream.origin;
  const port = Number(process.env.PORT ?? 0);
  const agent = new Agent({ connections: null, keepAliveTimeout: 30_000, pipelining: 1 });

  const server = createServer((req, res) => {
    if (req.url === '/__passthrough/health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    const ac = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) ac.abort(new Error('client gone'));
    });
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    agent
      .stream(
        {
          origin,
          path: req.url ?? '/',
          method: (req.method ?? 'GET') as 'GET',
          headers: forwardable(req.headers),
          body: hasBody ? req : null,
          signal: ac.signal,
        },
        ({ statusCode, headers }) => {
          res.writeHead(statusCode, forwardable(headers as IncomingHttpHeaders) as OutgoingHttpHeaders);
          res.flushHeaders();
          return res;
        },
      )
      .catch((err: unknown) => {
        const e = err as { code?: string; message?: string };
        if (!ac.signal.aborted) console.error(`passthrough: ${req.method} ${req.url}: ${e.code ?? ''} ${e.message ?? String(err)}`);
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`upstream failed: ${e.code ?? e.message ?? 'error'}`);
        else res.destroy();
      });
  });
  server.keepAliveTimeout = 30_000;
  server.headersTimeout = 60_000;
  server.requestTimeout = 0;
  server.maxHeadersCount = 0;
  server.listen(port, '127.0.0.1');

  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const ms = (ns: number): number => (Number.isFinite(ns) ? ns / 1e6 : 0);
  process.on('message', (msg: { type?: string; op?: string; id?: number }) => {
    if (msg?.type !== 'bench-probe' || typeof msg.id !== 'number') return;
    if (msg.op === 'gc') (globalThis as { gc?: () => void }).gc?.();
    const mem = process.memoryUsage();
    process.send?.({
      type: 'bench-probe',
      id: msg.id,
      pid: process.pid,
      cpu: process.cpuUsage(),
      rss: mem.rss,
      maxRss: process.resourceUsage().maxRSS * 1024,
      heapUsed: mem.heapUsed,
      eld: { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), mean: ms(histogram.mean), count: histogram.count },
    });
    if (msg.op === 'reset') histogram.reset();
  });
  process.channel?.unref();
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    void agent.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2_000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
}

main();
