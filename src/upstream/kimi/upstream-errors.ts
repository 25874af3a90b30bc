/**
 * Maps an upstream HTTP failure (non-2xx before any stream started) to a typed ProxyError
 * (spec A.11, B.11). Messages say what happened at Kimi; they never contain a token or the
 * raw body. Kimi's own error code, when the body carries one, goes to `upstreamCode`.
 */
import { ProxyError, type ErrorCode, type ProxyErrorOptions } from '../../core/errors.js';
import { isUsageLimit } from './usage-limit.js';

type Headers = Record<string, string | string[] | undefined>;

const MAX_CODE_CHARS = 100;

/**
 * `Retry-After` in milliseconds: delay-seconds or an HTTP date (relative to `nowMs`).
 * Undefined when absent or unreadable; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) {
    const seconds = Number(v);
    return Number.isFinite(seconds) ? Math.round(seconds * 1000) : undefined;
  }
  // An HTTP date always names a weekday or month; this keeps bare numbers like "-5" out.
  if (!/[a-z]/i.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * Keeps an upstream code loggable: short, no spaces or control characters, and never
 * something that looks like a JWT (a code is never a secret, so one that is gets dropped).
 */
export function sanitizeUpstreamCode(value: string): string | undefined {
  if (value.includes('eyJ')) return undefined;
  const cleaned = value.replace(/[^\w.:#/@-]+/g, '_').slice(0, MAX_CODE_CHARS);
  return cleaned === '' || cleaned === '_' ? undefined : cleaned;
}

function header(headers: Headers, name: string): string | undefined {
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() !== name) continue;
    const v = headers[key];
    return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}

/** Kimi's error code (and the body's message) from a REST `{"error_type","message"}` or Connect `{"code","message","details"}` body. */
function upstreamErrorOf(bodyText: string, protocol: 'rest' | 'connect'): { upstreamCode?: string; reason?: string; message?: string } {
  const text = bodyText.trim();
  if (!text.startsWith('{')) return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof body !== 'object' || body === null) return {};
  const b = body as Record<string, unknown>;
  // Some Connect errors arrive wrapped as {"error":{...}} (the in-stream shape).
  const inner = typeof b.error === 'object' && b.error !== null ? (b.error as Record<string, unknown>) : undefined;
  const restCode = typeof b.error_type === 'string' ? b.error_type : undefined;
  const connectObj = inner ?? b;
  const connectCode = typeof connectObj.code === 'string' ? connectObj.code : undefined;
  const rawMessage = connectObj.message ?? b.message;
  const message = typeof rawMessage === 'string' ? rawMessage : undefined;
  let code = protocol === 'rest' ? (restCode ?? connectCode) : (connectCode ?? restCode);
  if (code === undefined) return message === undefined ? {} : { message };
  let reason: string | undefined;
  if (code === connectCode) {
    reason = debugReason(connectObj.details);
    if (reason) code = `${code}:${reason}`;
  }
  const out: { upstreamCode?: string; reason?: string; message?: string } = {};
  const upstreamCode = sanitizeUpstreamCode(code);
  if (upstreamCode !== undefined) out.upstreamCode = upstreamCode;
  if (reason !== undefined) out.reason = reason;
  if (message !== undefined) out.message = message;
  return out;
}

/** `details[0].debug.reason` of a Connect error, when present. */
export function debugReason(details: unknown): string | undefined {
  if (!Array.isArray(details)) return undefined;
  const first: unknown = details[0];
  if (typeof first !== 'object' || first === null) return undefined;
  const debug = (first as { debug?: unknown }).debug;
  if (typeof debug !== 'object' || debug === null) return undefined;
  const reason = (debug as { reason?: unknown }).reason;
  return typeof reason === 'string' && reason !== '' ? reason : undefined;
}

function baseCode(upstreamCode: string | undefined): string {
  if (!upstreamCode) return '';
  const colon = upstreamCode.indexOf(':');
  return colon === -1 ? upstreamCode : upstreamCode.slice(0, colon);
}

export function errorFromUpstreamResponse(status: number, headers: Headers, bodyText: string, protocol: 'rest' | 'connect'): ProxyError {
  const fields = upstreamErrorOf(bodyText, protocol);
  const upstreamCode = fields.upstreamCode;
  const code = baseCode(upstreamCode);
  const tag = upstreamCode ? `HTTP ${status}, ${upstreamCode}` : `HTTP ${status}`;
  const make = (errorCode: ErrorCode, message: string, extra: { retryAfterMs?: number; status?: number } = {}): ProxyError => {
    const opts: ProxyErrorOptions = { upstreamCode: upstreamCode ?? `http_${status}` };
    if (extra.retryAfterMs !== undefined) opts.retryAfterMs = extra.retryAfterMs;
    if (extra.status !== undefined) opts.status = extra.status;
    return new ProxyError(errorCode, `${message} (${tag}).`, opts);
  };

  if (status >= 400 && isUsageLimit({ code, reason: fields.reason, message: fields.message })) {
    // The reset time, when Kimi gives one, can only be the documented Retry-After (spec B.11).
    const retryAfterMs = parseRetryAfter(header(headers, 'retry-after'), Date.now());
    return make('quota_exhausted', 'Kimi says this account has reached its usage limit', retryAfterMs === undefined ? {} : { retryAfterMs });
  }
  if (code === 'chat.user_stream_pushing') {
    return make('upstream_chat_busy', 'Kimi is still streaming another reply in this chat');
  }

  switch (status) {
    case 401:
      return make('upstream_unauthenticated', 'Kimi rejected the account token');
    case 403:
      return make('upstream_unauthenticated', 'Kimi refused access for this account');
    case 429: {
      const retryAfterMs = parseRetryAfter(header(headers, 'retry-after'), Date.now());
      return make('upstream_rate_limited', 'Kimi is rate-limiting this account', retryAfterMs === undefined ? {} : { retryAfterMs });
    }
    case 408:
    case 504:
      return make('upstream_timeout', 'Kimi timed out before answering');
    case 503: {
      const retryAfterMs = parseRetryAfter(header(headers, 'retry-after'), Date.now());
      return make('upstream_overloaded', 'Kimi is overloaded or temporarily unavailable', retryAfterMs === undefined ? {} : { retryAfterMs });
    }
    case 404:
      if (code === 'chat.not_found' || code === 'not_found') {
        return make('upstream_chat_not_found', 'Kimi does not know this chat');
      }
      return make('upstream_http_error', 'Kimi answered "not found" for this endpoint');
    case 400:
      return make('upstream_bad_request', 'Kimi rejected the request as invalid');
  }
  if (status >= 500) {
    return make('upstream_http_error', 'Kimi failed with a server error', { status: 502 });
  }
  return make('upstream_http_error', 'Kimi answered with an unexpected HTTP status');
}
