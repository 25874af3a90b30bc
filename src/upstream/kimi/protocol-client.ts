/**
 * Which Kimi protocol the upstream speaks, and the client for it. KIMI_PROTOCOL=auto probes
 * once at start: Connect's catalog RPC answers 404 only where Connect is absent. The probe
 * runs on an account through the caller's `unary` path, so a refused token or a rate limit
 * it meets reaches that account's health like any other call.
 */
import { ConnectClient, MODELS_PATH } from './connect/client.js';
import type { FileUploads } from './files/uploads.js';
import type { KimiHttp } from './http.js';
import { RestSseClient } from './rest-sse/client.js';
import type { KimiProtocol, KimiProtocolClient, UpstreamCallContext } from './types.js';

/** Runs one call on a leased account (the relay's unary path). */
export type UnaryRunner = <T>(call: (ctx: UpstreamCallContext) => Promise<T>, opts: { signal?: AbortSignal; timeoutMs: number }) => Promise<T>;

interface DetectLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ProtocolClientOptions {
  /** The configured protocol; `auto` detects it. */
  protocol: KimiProtocol | 'auto';
  http: KimiHttp;
  unary: UnaryRunner;
  /** Without accounts nothing can be probed: auto means connect. */
  accountCount: number;
  connectChatPath: string;
  /** Largest Connect frame read (connect/envelope.ts frameLimitFor): agrees with the request body limit. */
  connectMaxFrameBytes?: number;
  /** Attachment uploads (cache, retries, parse waits), shared by both protocols. */
  uploads?: FileUploads;
  logger: DetectLogger;
}

const PROBE_TIMEOUT_MS = 10_000;

export async function openProtocolClient(opts: ProtocolClientOptions): Promise<{ protocol: KimiProtocol; client: KimiProtocolClient }> {
  const protocol = opts.protocol === 'auto' ? await detectProtocol(opts) : opts.protocol;
  return { protocol, client: createProtocolClient(protocol, opts) };
}

export function createProtocolClient(protocol: KimiProtocol, opts: Pick<ProtocolClientOptions, 'http' | 'connectChatPath' | 'connectMaxFrameBytes' | 'uploads' | 'logger'>): KimiProtocolClient {
  const { http, logger } = opts;
  const uploads = opts.uploads ? { uploads: opts.uploads } : {};
  if (protocol === 'rest') {
    return new RestSseClient(http, { onUnknownEvent: (name) => logger.debug({ event: name }, 'ignored unknown Kimi SSE event'), ...uploads });
  }
  return new ConnectClient(http, {
    chatPath: opts.connectChatPath,
    onUnknownMask: (mask) => logger.debug({ mask }, 'ignored unknown Kimi Connect mask'),
    ...(opts.connectMaxFrameBytes !== undefined ? { maxFrameBytes: opts.connectMaxFrameBytes } : {}),
    ...uploads,
  });
}

export async function detectProtocol(opts: Pick<ProtocolClientOptions, 'http' | 'unary' | 'accountCount' | 'logger'>): Promise<KimiProtocol> {
  const { http, logger } = opts;
  if (opts.accountCount === 0) return 'connect';
  try {
    const status = await opts.unary(
      async (ctx) => {
        const res = await http.send({ method: 'POST', path: `/apiv2/${MODELS_PATH}`, body: '{}', contentType: 'application/json', protocol: 'connect', allowNotFound: true }, ctx);
        for await (const _ of res.body) {
          // drain
        }
        return res.status;
      },
      { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS), timeoutMs: PROBE_TIMEOUT_MS },
    );
    const protocol = status === 404 ? 'rest' : 'connect';
    logger.info({ protocol }, 'KIMI_PROTOCOL=auto: detected the upstream protocol');
    return protocol;
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'KIMI_PROTOCOL=auto: probe failed; using connect');
    return 'connect';
  }
}
