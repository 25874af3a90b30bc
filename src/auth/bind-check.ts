/**
 * Secure by default: without any API key the proxy serves loopback only. Binding another
 * address without a key is refused unless `ALLOW_NO_AUTH=true` says so explicitly.
 */
import { BlockList, isIP } from 'node:net';

export interface BindCheckInput {
  host: string;
  /** API_KEYS is set or the store holds a key. */
  keysConfigured: boolean;
  allowNoAuth: boolean;
}

export type BindDecision =
  | { ok: true; level?: 'info' | 'warn'; message?: string }
  | { ok: false; message: string };

function loopbackList(): BlockList {
  const list = new BlockList();
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  list.addAddress('::1', 'ipv6');
  list.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');
  return list;
}

/** True for 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`; false for 0.0.0.0, ::, other addresses and names. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const family = isIP(h);
  if (family === 0) return false;
  return loopbackList().check(h, family === 4 ? 'ipv4' : 'ipv6');
}

export function checkBind({ host, keysConfigured, allowNoAuth }: BindCheckInput): BindDecision {
  if (keysConfigured) return { ok: true };
  if (isLoopbackHost(host)) {
    return {
      ok: true,
      level: 'info',
      message: `No API key is configured: listening on loopback only (${host}). Set API_KEYS (or create a key with the admin API) before serving other addresses.`,
    };
  }
  if (allowNoAuth) {
    return {
      ok: true,
      level: 'warn',
      message: `WARNING: ALLOW_NO_AUTH=true: serving ${host} WITHOUT any API key. Anyone who can reach this address can use your Kimi accounts. Set API_KEYS to require a key.`,
    };
  }
  return {
    ok: false,
    message:
      `Refusing to listen on ${host} without an API key: anyone who could reach it would use your Kimi accounts. ` +
      'Set API_KEYS (or create a key with the admin API while listening on 127.0.0.1), use HOST=127.0.0.1, ' +
      'or set ALLOW_NO_AUTH=true to serve without keys anyway.',
  };
}
