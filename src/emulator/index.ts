/**
 * The Kimi web emulator: both protocol generations of kimi-protocol.md (legacy REST+SSE under
 * `/api`, Connect-RPC under `/apiv2`), scripted replies and fault injection, on loopback.
 */
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createControl } from './control.js';
import { createRequestHandler } from './server.js';
import { createState, resolveOptions } from './state.js';
import type { Emulator, EmulatorOptions } from './types.js';

export type {
  Emulator,
  EmulatorControl,
  EmulatorOptions,
  EmulatorStats,
  FaultName,
  FaultSpec,
  RecentRequest,
  TokenFaultOptions,
} from './types.js';
export { FAULT_NAMES } from './types.js';
export { buildReplyPlan, type ReplyContext, type ReplyPlan, type SearchResult } from './reply-plan.js';
export { parseDirectives, type Directives } from './directives.js';

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const resolved = resolveOptions(options);
  const state = createState(resolved);
  const control = createControl(state);
  const server = createServer(createRequestHandler(state, control));
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, resolved.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
  state.url = `http://${host}:${port}`;

  return {
    url: state.url,
    port,
    stats: () => control.stats(),
    control,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
