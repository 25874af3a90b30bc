/**
 * Outbound proxies for upstream (Kimi) calls.
 *
 * - Global: `KIMI_PROXY_URL`, else `HTTPS_PROXY` / `https_proxy`. The environment proxy is
 *   skipped for hosts listed in `NO_PROXY` and for loopback hosts (an emulator on this
 *   machine); `KIMI_PROXY_URL` is explicit and always applies.
 * - Per account: `proxyUrl` in the accounts file (http, https or socks5).
 *
 * One dispatcher per distinct proxy URL. The account of a request is recognised by its
 * device id header, which is stable per account and present on every upstream call
 * (chat, unary calls and token refreshes), so the HTTP layer needs no knowledge of proxies.
 * Proxy credentials (`user:pass@`) are used for Proxy-Authorization and never logged.
 */
import { Agent, ProxyAgent, Socks5ProxyAgent, type Dispatcher } from 'undici';
import type { Account } from '../accounts/account.js';
import type { Timeouts } from '../config/config.js';
import { normalizeProxyUrl, redactProxyUrl } from './proxy-url.js';

export { normalizeProxyUrl, redactProxyUrl };

/** The header that identifies an account on every upstream request (see upstream/kimi/http.ts). */
const ACCOUNT_HEADER = 'x-msh-device-id';

export interface ProxyEnv {
  kimiProxyUrl?: string | undefined;
  httpsProxy?: string | undefined;
  noProxy?: string | undefined;
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\./.test(h);
}

/** NO_PROXY matching: `*`, exact hosts, domain suffixes (`.example.com` or `example.com`), optional `:port`. */
export function bypassesProxy(target: URL, noProxy: string | undefined): boolean {
  if (isLoopback(target.hostname)) return true;
  if (!noProxy) return false;
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(/[,\s]+/)) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    const m = /^(.*?)(?::(\d+))?$/.exec(entry)!;
    const name = m[1]!.replace(/^\*?\./, '.').replace(/^\[|\]$/g, '');
    if (m[2] && m[2] !== port) continue;
    if (name.startsWith('.') ? host.endsWith(name) || host === name.slice(1) : host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/** The global outbound proxy for `baseUrl`, or undefined for direct connections. */
export function resolveGlobalProxy(baseUrl: string, env: ProxyEnv): string | undefined {
  if (env.kimiProxyUrl?.trim()) return normalizeProxyUrl(env.kimiProxyUrl);
  if (!env.httpsProxy?.trim()) return undefined;
  return bypassesProxy(new URL(baseUrl), env.noProxy) ? undefined : normalizeProxyUrl(env.httpsProxy);
}

export interface OutboundOptions {
  baseUrl: string;
  timeouts: Timeouts;
  env: ProxyEnv;
  /** The current accounts, read per request (so accounts added at run time are routed too); never called before the first request. */
  accounts: () => readonly Account[];
}

export interface Outbound {
  /** The dispatcher for KimiHttp. */
  dispatcher: Dispatcher;
  /** Redacted proxy URLs in use, for the start-up log. */
  describe(): { global?: string; perAccount: Record<string, string> };
  close(): Promise<void>;
}

function proxyDispatcher(url: string, timeouts: Timeouts): Dispatcher {
  const protocol = new URL(url).protocol;
  // No per-origin connection cap: the account pool bounds concurrent upstream calls, and a cap
  // here would hold admitted requests (and their leases) in a hidden queue.
  const pool = { keepAliveTimeout: 30_000, connections: null };
  if (protocol === 'socks5:' || protocol === 'socks:') return new Socks5ProxyAgent(url, pool);
  if (protocol === 'http:' || protocol === 'https:') return new ProxyAgent({ uri: url, connect: { timeout: timeouts.connectMs }, ...pool });
  throw new Error(`Unsupported proxy scheme ${protocol} (expected http, https or socks5).`);
}

function headerValue(headers: Dispatcher.DispatchOptions['headers'], name: string): string | undefined {
  if (!headers) return undefined;
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const key = headers[i];
      if (key === name || String(key).toLowerCase() === name) return String(headers[i + 1]);
    }
    return undefined;
  }
  if (Symbol.iterator in headers) {
    for (const pair of headers as Iterable<[string, string | string[] | undefined]>) {
      if (pair[0].toLowerCase() === name) return Array.isArray(pair[1]) ? pair[1][0] : pair[1];
    }
    return undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  const v = record[name] ?? Object.entries(record).find(([k]) => k.toLowerCase() === name)?.[1];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The dispatcher for upstream calls: the global proxy (or a direct agent), and for requests
 * of an account with its own `proxyUrl`, that account's proxy.
 */
export function createOutbound(opts: OutboundOptions): Outbound {
  const globalUrl = resolveGlobalProxy(opts.baseUrl, opts.env);
  const byUrl = new Map<string, Dispatcher>();
  const forUrl = (url: string): Dispatcher => {
    let d = byUrl.get(url);
    if (!d) {
      d = proxyDispatcher(url, opts.timeouts);
      byUrl.set(url, d);
    }
    return d;
  };
  const direct = globalUrl ? undefined : new Agent({ connect: { timeout: opts.timeouts.connectMs }, keepAliveTimeout: 30_000, connections: null });
  const fallback: Dispatcher = direct ?? forUrl(globalUrl!);

  const dispatcher = fallback.compose((dispatch) => (options, handler) => {
    const device = headerValue(options.headers, ACCOUNT_HEADER);
    const proxyUrl = device === undefined ? undefined : opts.accounts().find((a) => a.deviceId === device)?.proxyUrl;
    return proxyUrl ? forUrl(normalizeProxyUrl(proxyUrl)).dispatch(options, handler) : dispatch(options, handler);
  });

  return {
    dispatcher,
    describe: () => {
      const perAccount: Record<string, string> = {};
      for (const a of opts.accounts()) if (a.proxyUrl) perAccount[a.name] = redactProxyUrl(normalizeProxyUrl(a.proxyUrl));
      return { ...(globalUrl ? { global: redactProxyUrl(globalUrl) } : {}), perAccount };
    },
    async close() {
      const all = [...(direct ? [direct] : []), ...byUrl.values()];
      await Promise.all(all.map((d) => d.close().catch(() => undefined)));
    },
  };
}
