/**
 * The one HTTP path to Kimi: an undici agent, the identity headers of spec 1.3, the four
 * timeouts of spec C.1 (connect, first byte, idle gap, total) and the mapping of transport
 * failures to typed errors. Both protocol clients go through here.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { ProxyError, isProxyError } from '../../core/errors.js';
import type { Timeouts } from '../../config/config.js';
import { errorFromUpstreamResponse } from './upstream-errors.js';
import { linkSignals } from '../../core/signals.js';
import type { AccountCredentials, KimiProtocol, UpstreamCallContext } from './types.js';

const USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';

export interface KimiHttpOptions {
  baseUrl: string;
  timeouts: Timeouts;
  /** Injected for outbound proxies and tests; defaults to a keep-alive agent. */
  dispatcher?: Dispatcher;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Uint8Array>;
}

interface SendOptions {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: string | Uint8Array;
  contentType?: string;
  extraHeaders?: Record<string, string>;
  protocol: KimiProtocol;
  /** Resolve (instead of throwing) on 404, for callers that probe alternative paths. */
  allowNotFound?: boolean;
}

export class KimiHttp {
  readonly baseUrl: string;
  private readonly timeouts: Timeouts;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;

  constructor(opts: KimiHttpOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.timeouts = opts.timeouts;
    this.ownsDispatcher = !opts.dispatcher;
    this.dispatcher =
      opts.dispatcher ??
      new Agent({
        connect: { timeout: opts.timeouts.connectMs },
        keepAliveTimeout: 30_000,
        // Unbounded per origin: the account pool bounds concurrent upstream calls.
        connections: null,
      });
  }

  /** Identity headers of spec 1.3. Only the JWT matters upstream; the rest mirrors the web app. */
  headers(creds: AccountCredentials, protocol: KimiProtocol): Record<string, string> {
    const h: Record<string, string> = {
      authorization: `Bearer ${creds.accessToken}`,
      'x-msh-platform': 'web',
      'x-msh-device-id': creds.deviceId,
      'x-msh-session-id': creds.sessionId,
      'x-language': 'zh-CN',
      'r-timezone': 'Asia/Shanghai',
      origin: this.baseUrl,
      referer: `${this.baseUrl}/`,
      'user-agent': USER_AGENT,
      accept: '*/*',
    };
    if (creds.userId) h['x-traffic-id'] = creds.userId;
    if (protocol === 'connect') {
      h['connect-protocol-version'] = '1';
      // [U4]: without a current version header GetAvailableModels served a stale list.
      h['x-msh-version'] = '2.2.0';
      // OmniRoute and [U1] also send the JWT as the kimi-auth cookie on Connect.
      if (creds.accessToken.startsWith('eyJ')) h.cookie = `kimi-auth=${creds.accessToken}`;
    }
    return h;
  }

  /**
   * Sends a request and resolves once response headers arrived with a 2xx status. Non-2xx
   * answers are read (bounded) and thrown as typed errors. The body iterable maps transport
   * failures (idle timeout, cut connection) to typed errors too.
   */
  async send(opts: SendOptions, ctx: UpstreamCallContext): Promise<UpstreamResponse> {
    const headers = { ...this.headers(ctx.credentials, opts.protocol), ...opts.extraHeaders };
    if (opts.contentType) headers['content-type'] = opts.contentType;
    // One signal per call, aborted by the caller's signal or the total time limit. Not
    // AbortSignal.timeout() (its timer and what it holds live for the whole limit, even after
    // the call) nor AbortSignal.any() (a composite signal per call, measurable on the hot path).
    const call = linkSignals([ctx.signal]);
    const totalTimeout: TotalLimit = { aborted: false };
    const totalTimer = setTimeout(() => {
      totalTimeout.aborted = true;
      call.abort(new DOMException('The total time limit elapsed.', 'TimeoutError'));
    }, this.timeouts.totalMs);
    totalTimer.unref();
    const finished = (): void => {
      clearTimeout(totalTimer);
      call.unlink();
    };
    const signal = call.signal;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(this.baseUrl + opts.path, {
        method: opts.method,
        headers,
        body: opts.body ?? null,
        signal,
        dispatcher: this.dispatcher,
        headersTimeout: this.timeouts.firstByteMs,
        bodyTimeout: this.timeouts.idleMs,
      });
    } catch (err) {
      finished();
      throw mapTransportError(err, ctx.signal, totalTimeout, 'before the response started');
    }
    if (res.statusCode === 404 && opts.allowNotFound) {
      await res.body.dump().catch(() => undefined);
      finished();
      return { status: 404, headers: res.headers, body: emptyBody() };
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const text = await readLimited(res.body, 64 * 1024).catch(() => '');
      finished();
      throw errorFromUpstreamResponse(res.statusCode, res.headers, text, opts.protocol);
    }
    return {
      status: res.statusCode,
      headers: res.headers,
      body: guardBody(res.body, ctx.signal, totalTimeout, finished),
    };
  }

  /** A unary JSON call (REST endpoints and Connect unary RPCs). */
  async json(opts: SendOptions, ctx: UpstreamCallContext): Promise<unknown> {
    const res = await this.send({ contentType: 'application/json', ...opts }, ctx);
    const text = await readLimited(res.body, 8 * 1024 * 1024);
    if (text.trim() === '') return {};
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new ProxyError('upstream_protocol_error', `Kimi answered ${opts.path} with a body that is not JSON.`, { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {}

async function readLimited(body: AsyncIterable<Uint8Array>, limit: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) throw new ProxyError('upstream_protocol_error', 'Kimi response body exceeded the size limit.');
    parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return Buffer.concat(parts).toString('utf8');
}

async function* guardBody(body: AsyncIterable<Uint8Array>, clientSignal: AbortSignal, totalTimeout: TotalLimit, finished: () => void): AsyncGenerator<Uint8Array> {
  try {
    yield* body;
  } catch (err) {
    throw mapTransportError(err, clientSignal, totalTimeout, 'while streaming');
  } finally {
    finished();
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Whether a call's total time limit has run out. */
interface TotalLimit {
  aborted: boolean;
}

/** Maps an undici/network failure to a typed error. A client abort is re-thrown as is. */
export function mapTransportError(err: unknown, clientSignal: AbortSignal, totalTimeout: TotalLimit, when: string): unknown {
  if (isProxyError(err)) return err;
  if (clientSignal.aborted) return clientSignal.reason ?? err;
  if (totalTimeout.aborted) {
    return new ProxyError('upstream_timeout', `Kimi did not finish within the total time limit (${when}).`, { cause: err, upstreamCode: 'total_timeout' });
  }
  const code = errorCode(err);
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new ProxyError('upstream_timeout', 'Timed out connecting to Kimi.', { cause: err, upstreamCode: 'connect_timeout' });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new ProxyError('upstream_timeout', 'Kimi did not start answering in time (first-byte timeout).', { cause: err, upstreamCode: 'first_byte_timeout' });
    case 'UND_ERR_BODY_TIMEOUT':
      return new ProxyError('upstream_timeout', 'Kimi stopped sending data mid-answer (idle timeout).', { cause: err, upstreamCode: 'idle_timeout' });
  }
  if (code && NETWORK_CODES.has(code)) {
    return new ProxyError('upstream_network_error', `Network error talking to Kimi ${when} (${code}).`, { cause: err, upstreamCode: code });
  }
  return new ProxyError('upstream_network_error', `Could not talk to Kimi ${when}.`, { cause: err, upstreamCode: code ?? 'network' });
}
