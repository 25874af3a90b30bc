/**
 * Fetching an attachment URL without letting a client reach what the proxy can reach: every
 * address is checked before the connection is made, in the connection's own DNS lookup (so a
 * name that resolves differently a second time, DNS rebinding, cannot slip through), IP
 * literals (in any form the URL parser accepts: decimal, octal, IPv4-mapped IPv6) are checked
 * before that, redirects are followed by hand and checked again, and the body is counted while
 * it streams. Nothing of the client's request (auth headers, cookies) is sent.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, type Dispatcher } from 'undici';
import { ProxyError } from '../core/errors.js';
import type { FetchedBytes } from './resolve.js';

export interface UrlFetchOptions {
  /** Addresses or CIDR ranges fetched although they are not public (tests, an intranet file server). */
  allow: string[];
  connectTimeoutMs: number;
  totalTimeoutMs: number;
  maxRedirects: number;
}

export const DEFAULT_URL_FETCH: UrlFetchOptions = { allow: [], connectTimeoutMs: 10_000, totalTimeoutMs: 60_000, maxRedirects: 3 };

/** Raised inside the connection's lookup: the target is an address the proxy will not connect to. */
class BlockedAddress extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
    readonly range: string,
  ) {
    super(`${host} resolves to ${address} (${range})`);
  }
}

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

function parseAllow(entries: string[]): Cidr[] {
  return entries.map((e) => {
    const text = e.trim();
    if (text.includes('/')) return ipaddr.parseCIDR(text);
    const addr = ipaddr.process(text);
    return [addr, addr.kind() === 'ipv4' ? 32 : 128];
  });
}

function checkedRange(address: string, allow: Cidr[]): string | undefined {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // process() turns IPv4-mapped IPv6 (::ffff:127.0.0.1) back into the IPv4 it stands for.
    addr = ipaddr.process(address);
  } catch {
    return 'not an IP address';
  }
  for (const [net, bits] of allow) if (net.kind() === addr.kind() && addr.match(net, bits)) return undefined;
  const range = addr.range();
  return range === 'unicast' ? undefined : range;
}

function refused(param: string, reason: string): ProxyError {
  return new ProxyError('attachment_url_refused', `${param}: the URL is not fetched: ${reason}.`, { param });
}

function fetchFailed(param: string, reason: string, cause?: unknown): ProxyError {
  return new ProxyError('attachment_fetch_failed', `${param}: the URL could not be fetched: ${reason}.`, cause === undefined ? { param } : { param, cause });
}

function blockedIn(err: unknown): BlockedAddress | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e; depth++) {
    if (e instanceof BlockedAddress) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export class UrlFetcher {
  private readonly allow: Cidr[];
  private readonly agent: Dispatcher;

  constructor(private readonly opts: UrlFetchOptions = DEFAULT_URL_FETCH) {
    this.allow = parseAllow(opts.allow);
    const lookup: LookupFunction = (hostname, options, callback) => {
      dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
        if (err) return callback(err, '', 0);
        // Every address must pass: the socket may try any of them (happy eyeballs).
        for (const a of addresses) {
          const range = checkedRange(a.address, this.allow);
          if (range) return callback(new BlockedAddress(hostname, a.address, range), '', 0);
        }
        if (options.all) (callback as unknown as (e: null, list: LookupAddress[]) => void)(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      });
    };
    this.agent = new Agent({ connect: { timeout: opts.connectTimeoutMs, lookup }, connections: 8 });
  }

  async fetch(url: string, o: { maxBytes: number; param: string; signal: AbortSignal }): Promise<FetchedBytes> {
    const signal = AbortSignal.any([o.signal, AbortSignal.timeout(this.opts.totalTimeoutMs)]);
    let current = url;
    for (let hop = 0; ; hop++) {
      const target = this.check(current, o.param);
      let res: Dispatcher.ResponseData;
      try {
        res = await this.agent.request({
          origin: target.origin,
          path: target.pathname + target.search,
          method: 'GET',
          headers: { 'user-agent': 'kimi-proxy attachment fetch', accept: 'image/*, application/pdf, */*;q=0.5' },
          signal,
        });
      } catch (err) {
        o.signal.throwIfAborted();
        const blocked = blockedIn(err);
        if (blocked) throw refused(o.param, `${blocked.message}, which is not a public address`);
        throw fetchFailed(o.param, signal.aborted ? 'it took too long' : ((err as Error).message || 'network error'), err);
      }
      if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
        await res.body.dump();
        if (hop >= this.opts.maxRedirects) throw refused(o.param, `more than ${this.opts.maxRedirects} redirects`);
        current = new URL(String(res.headers.location), target).href;
        continue;
      }
      if (res.statusCode < 200 || res.statusCode >= 300) {
        await res.body.dump();
        throw fetchFailed(o.param, `the server answered HTTP ${res.statusCode}`);
      }
      const bytes = await this.readCapped(res, o.maxBytes, o.param, o.signal);
      const mime = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
      const name = decodeURIComponent(target.pathname.split('/').pop() ?? '');
      return { bytes, ...(mime ? { mime } : {}), ...(name ? { name } : {}) };
    }
  }

  /** Scheme, and an IP literal host (which no DNS lookup will see), checked before connecting. */
  private check(url: string, param: string): URL {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      throw refused(param, 'it is not a valid URL');
    }
    if (target.protocol !== 'https:' && target.protocol !== 'http:') throw refused(param, `the scheme ${target.protocol} is not http or https`);
    if (target.username || target.password) throw refused(param, 'it carries credentials');
    const host = target.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) {
      const range = checkedRange(host, this.allow);
      if (range) throw refused(param, `${host} is a ${range} address, not a public one`);
    }
    return target;
  }

  private async readCapped(res: Dispatcher.ResponseData, maxBytes: number, param: string, clientSignal: AbortSignal): Promise<Buffer> {
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      res.body.destroy();
      throw new ProxyError('attachment_too_large', `${param}: the URL's file is ${declared} bytes; the limit is ${maxBytes} bytes.`, { param });
    }
    const parts: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body) {
        size += (chunk as Buffer).byteLength;
        if (size > maxBytes) {
          res.body.destroy();
          throw new ProxyError('attachment_too_large', `${param}: the URL's file is over the limit of ${maxBytes} bytes.`, { param });
        }
        parts.push(chunk as Buffer);
      }
    } catch (err) {
      clientSignal.throwIfAborted();
      if (err instanceof ProxyError) throw err;
      throw fetchFailed(param, 'the download was cut', err);
    }
    return Buffer.concat(parts, size);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
