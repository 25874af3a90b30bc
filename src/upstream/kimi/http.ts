/**
 * The one HTTP path to Kimi: an undici agent, the identity headers of spec 1.3, the four
 * timeouts of spec C.1 (connect, first byte, idle gap, total) and the mapping of transport
 * failures to typed errors. Both protocol clients go through here.
 */
import { Agent, type Dispatcher } from 'undici';
import type { Readable } from 'node:stream';
import { ProxyError, isProxyError } from '../../core/errors.js';
import type { Timeouts } from '../../config/config.js';
import { errorFromUpstreamResponse } from './upstream-errors.js';
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
  /** A stream (a large upload sent in pieces) needs its `content-length` in `extraHeaders`. */
  body?: string | Uint8Array | Readable;
  contentType?: string;
  extraHeaders?: Record<string, string>;
  protocol: KimiProtocol;
  /** Resolve (instead of throwing) on 404, for callers that probe alternative paths. */
  allowNotFound?: boolean;
}

export class KimiHttp {
  readonly baseUrl: string;
  private readonly origin: string;
  /** The base URL's path (a reverse proxy's prefix), put before every request path. */
  private readonly prefix: string;
  private readonly timeouts: Timeouts;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  /** Identity headers per credentials object (the token manager hands out one per token). */
  private readonly identity = new WeakMap<AccountCredentials, { rest?: readonly string[]; connect?: readonly string[] }>();

  constructor(opts: KimiHttpOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    const url = new URL(this.baseUrl);
    this.origin = url.origin;
    this.prefix = url.pathname.replace(/\/+$/, '');
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
   * The identity headers as undici's flat name/value list, built once per credentials and
   * protocol: rebuilding them (and the Bearer string) for every call showed in the profile.
   */
  private identityList(creds: AccountCredentials, protocol: KimiProtocol): readonly string[] {
    let entry = this.identity.get(creds);
    if (!entry) this.identity.set(creds, (entry = {}));
    return (entry[protocol] ??= Object.entries(this.headers(creds, protocol)).flat());
  }

  /** The request headers: identity, then the call's own (which win: undici keeps the last of a name). */
  private requestHeaders(opts: SendOptions, creds: AccountCredentials): string[] {
    const list = [...this.identityList(creds, opts.protocol)];
    if (opts.extraHeaders) {
      for (const name in opts.extraHeaders) setHeader(list, name, opts.extraHeaders[name]!);
    }
    if (opts.contentType) setHeader(list, 'content-type', opts.contentType);
    return list;
  }

  /**
   * Sends a request and resolves once response headers arrived with a 2xx status. Non-2xx
   * answers are read (bounded) and thrown as typed errors. The body iterable maps transport
   * failures (idle timeout, cut connection) to typed errors too.
   */
  async send(opts: SendOptions, ctx: UpstreamCallContext): Promise<UpstreamResponse> {
    ctx.signal.throwIfAborted();
    const call = new UpstreamCall(ctx.signal, this.timeouts.totalMs);
    try {
      this.dispatcher.dispatch(
        {
          origin: this.origin,
          path: this.prefix + opts.path,
          method: opts.method,
          headers: this.requestHeaders(opts, ctx.credentials),
          body: opts.body ?? null,
          headersTimeout: this.timeouts.firstByteMs,
          bodyTimeout: this.timeouts.idleMs,
        },
        call,
      );
    } catch (err) {
      call.onResponseError(undefined, err as Error);
    }
    const { status, headers } = await call.head;
    if (status === 404 && opts.allowNotFound) {
      await readLimited(call, 64 * 1024).catch(() => undefined);
      return { status: 404, headers, body: emptyBody() };
    }
    if (status < 200 || status >= 300) {
      const text = await readLimited(call, 64 * 1024).catch(() => '');
      throw errorFromUpstreamResponse(status, headers, text, opts.protocol);
    }
    return { status, headers, body: call };
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

  /**
   * `PUT` of a file's bytes to a pre-signed object-storage URL (spec A.10 step 2): another
   * host, no Kimi identity headers (the URL's signature is the authorisation).
   */
  async putObject(url: string, bytes: Uint8Array, contentType: string, ctx: Pick<UpstreamCallContext, 'signal'>): Promise<void> {
    const target = new URL(url);
    if (target.protocol !== 'https:' && target.protocol !== 'http:') {
      throw new ProxyError('upstream_protocol_error', 'Kimi returned an upload URL that is not http(s).');
    }
    let res: Dispatcher.ResponseData;
    try {
      res = await this.dispatcher.request({
        origin: target.origin,
        path: target.pathname + target.search,
        method: 'PUT',
        headers: { 'content-type': contentType, 'user-agent': USER_AGENT },
        body: bytes,
        signal: ctx.signal,
        headersTimeout: this.timeouts.firstByteMs,
        bodyTimeout: this.timeouts.idleMs,
      });
    } catch (err) {
      throw mapTransportError(err, ctx.signal as AbortSignal, false, 'uploading a file');
    }
    await res.body.dump();
    if (res.statusCode >= 200 && res.statusCode < 300) return;
    throw new ProxyError(res.statusCode >= 500 ? 'upstream_http_error' : 'upstream_bad_request', `Object storage answered the file upload with HTTP ${res.statusCode}.`, {
      upstreamCode: `object_put_${res.statusCode}`,
    });
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}

/** Sets `name` (lower case) in a flat header list, replacing an identity header of that name. */
function setHeader(list: string[], name: string, value: string): void {
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] === name) {
      list[i + 1] = value;
      return;
    }
  }
  list.push(name, value);
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

/** Response bytes queued unread before undici is asked to stop reading the socket. */
const HIGH_WATER = 64 * 1024;

interface Waiter {
  resolve(r: IteratorResult<Uint8Array>): void;
  reject(err: unknown): void;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** What a call resolves to once the response started. */
interface ResponseHead {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * One upstream call, as undici's dispatch handler on one side and, on the other, the head the
 * caller awaits and the body it iterates (once). Undici's `request()` would put a Node
 * Readable, its async iterator, a second signal and two handler adapters between the socket
 * and the decoder; this hands each chunk straight to the waiting reader, pauses the socket
 * while more than HIGH_WATER bytes wait, and cancels the request when the reader stops early.
 * The caller's signal and the total time limit abort it at any point; transport failures
 * reach the reader as typed errors (`mapTransportError`).
 */
class UpstreamCall implements Dispatcher.DispatchHandler, AsyncIterableIterator<Uint8Array> {
  readonly head: Promise<ResponseHead>;
  private resolveHead!: (h: ResponseHead) => void;
  private rejectHead!: (err: unknown) => void;
  private started = false;
  private controller: Dispatcher.DispatchController | undefined;
  /** An abort asked for before undici handed over its controller. */
  private pendingAbort: Error | undefined;
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private failure: unknown;
  private waiter: Waiter | undefined;
  private settled = false;
  private timedOut = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly signal: AbortSignal,
    totalMs: number,
  ) {
    this.head = new Promise((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    signal.addEventListener('abort', this.onClientAbort, { once: true });
    this.timer = setTimeout(this.onTotalTimeout, totalMs);
    this.timer.unref();
  }

  private readonly onClientAbort = (): void => this.abort(this.signal.reason as Error);

  private readonly onTotalTimeout = (): void => {
    this.timedOut = true;
    this.abort(new DOMException('The total time limit elapsed.', 'TimeoutError'));
  };

  private abort(reason: Error): void {
    if (this.controller) this.controller.abort(reason);
    else this.pendingAbort ??= reason;
  }

  /** The call is over (ended, failed or abandoned): no timer, no listener left behind. */
  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.signal.removeEventListener('abort', this.onClientAbort);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.pendingAbort) controller.abort(this.pendingAbort);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.started = true;
    this.resolveHead({ status: statusCode, headers });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter.resolve({ done: false, value: chunk });
      return;
    }
    this.queue.push(chunk);
    this.queued += chunk.byteLength;
    if (this.queued > HIGH_WATER) controller.pause();
  }

  onResponseEnd(): void {
    this.ended = true;
    this.settle();
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve(DONE);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    const mapped = mapTransportError(err, this.signal, this.timedOut, this.started ? 'while streaming' : 'before the response started');
    this.settle();
    // A call whose response never started has no body to read: the head carries the error.
    if (!this.started) {
      this.rejectHead(mapped);
      return;
    }
    this.failure = mapped;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(mapped);
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    const chunk = this.queue.shift();
    if (chunk !== undefined) {
      this.queued -= chunk.byteLength;
      if (this.queued <= HIGH_WATER && this.controller?.paused) this.controller.resume();
      return Promise.resolve({ done: false, value: chunk });
    }
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** The reader stopped early (break, return, or its own error): cancel the request. */
  return(): Promise<IteratorResult<Uint8Array>> {
    if (!this.ended && this.failure === undefined) {
      this.ended = true;
      this.queue.length = 0;
      this.settle();
      this.abort(new ProxyError('upstream_network_error', 'The upstream response was abandoned by its reader.'));
    }
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
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

/** Maps an undici/network failure to a typed error. A client abort is re-thrown as is. */
export function mapTransportError(err: unknown, clientSignal: AbortSignal, totalTimedOut: boolean, when: string): unknown {
  if (isProxyError(err)) return err;
  if (clientSignal.aborted) return clientSignal.reason ?? err;
  if (totalTimedOut) {
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
