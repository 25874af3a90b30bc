/**
 * In-stream Connect failures (spec B.11) as typed errors: an `error` object in a frame or
 * the trailer (`{code, message, details}`), and `exception` / `block.exception`
 * (`{error:{reason, localizedMessage:{message}}}`).
 */
import { ProxyError, type ErrorCode } from '../../../core/errors.js';
import { debugReason, sanitizeUpstreamCode } from '../upstream-errors.js';
import { isUsageLimit } from '../usage-limit.js';
import { obj, str } from '../wire-json.js';

/** One-line, bounded version of an upstream human message. */
function shortText(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.replace(/\s+/g, ' ').trim();
  if (s === '') return undefined;
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

const CONNECT_CODES: Record<string, { code: ErrorCode; what: string }> = {
  unauthenticated: { code: 'upstream_unauthenticated', what: 'Kimi rejected the account token' },
  permission_denied: { code: 'upstream_unauthenticated', what: 'Kimi refused access for this account' },
  resource_exhausted: { code: 'upstream_rate_limited', what: 'Kimi refused the reply: too many requests or concurrent replies on this account' },
  invalid_argument: { code: 'upstream_bad_request', what: 'Kimi rejected the chat request as invalid' },
  unavailable: { code: 'upstream_overloaded', what: 'Kimi is temporarily unavailable' },
  not_found: { code: 'upstream_chat_not_found', what: 'Kimi does not know this chat or parent message' },
};

/** A Connect error object (`{code, message, details}`) from a frame or the trailer. */
export function connectError(err: unknown, where: 'stream' | 'trailer'): ProxyError {
  const e = obj(err) ?? {};
  const code = str(e.code) ?? 'unknown';
  const reason = debugReason(e.details);
  const upstreamCode = sanitizeUpstreamCode(reason ? `${code}:${reason}` : code);
  const detail = shortText(e.message);
  const known = isUsageLimit({ code, reason, message: detail })
    ? { code: 'quota_exhausted' as const, what: 'Kimi says this account has reached its usage limit' }
    : Object.hasOwn(CONNECT_CODES, code)
      ? CONNECT_CODES[code]
      : undefined;
  const what = known?.what ?? 'Kimi stopped the reply with an error';
  const message = `${what} (${code}${where === 'trailer' ? ', in the stream trailer' : ''})${detail ? `: ${detail}` : '.'}`;
  return new ProxyError(known?.code ?? 'upstream_generation_error', message, upstreamCode ? { upstreamCode } : {});
}

/** `exception` / `block.exception`: `{error:{reason, localizedMessage:{message}}}`. */
export function exceptionError(exception: unknown): ProxyError {
  const ex = obj(exception) ?? {};
  const e = obj(ex.error) ?? ex;
  const reason = str(e.reason) ?? 'REASON_UNKNOWN';
  const localized = shortText(obj(e.localizedMessage)?.message);
  const overloaded = reason === 'REASON_COMPLETION_OVERLOADED';
  const spent = !overloaded && isUsageLimit({ reason, message: localized });
  const [code, what] = overloaded
    ? (['upstream_overloaded', 'Kimi is overloaded and could not generate the reply'] as const)
    : spent
      ? (['quota_exhausted', 'Kimi says this account has reached its usage limit'] as const)
      : (['upstream_generation_error', 'Kimi failed to generate the reply'] as const);
  const upstreamCode = sanitizeUpstreamCode(reason);
  return new ProxyError(code, `${what} (${reason})${localized ? `: ${localized}` : '.'}`, upstreamCode ? { upstreamCode } : {});
}
