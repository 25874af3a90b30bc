/**
 * Usage limits in the emulator: per-account counters of chat replies that run out, the limit
 * answer, a reset time, and the quota endpoints reporting the numbers.
 *
 * The protocol doc knows the envelopes (A.11, B.11) but not the values Kimi puts in them when
 * a limit is reached (F.12). The emulator answers in the documented envelopes with stand-in
 * values a reader recognises — `error_type` `chat.usage_limit_exceeded`, reason
 * `REASON_USAGE_LIMIT_EXCEEDED`, a message saying the limit is reached — and the reset time
 * in the one documented place for it, `Retry-After` on an HTTP answer.
 */
import type { ServerResponse } from 'node:http';
import { ConnectFrames, type ConnectError } from './connect-frames.js';
import { sendJson } from './http-io.js';

/**
 * Where the limit answer travels: an HTTP 429 with `Retry-After` before any stream (both
 * generations), a Connect in-stream `error` frame (HTTP 200), or a Connect `exception`.
 */
export const QUOTA_SHAPES = ['http', 'stream-error', 'exception'] as const;
export type QuotaShape = (typeof QUOTA_SHAPES)[number];

export interface QuotaSettings {
  /** Chat replies allowed per window. */
  limit: number;
  /** Length of the window: the counter resets this long after it started. */
  resetSec: number;
  /** Default: `http` on REST, `stream-error` on Connect. */
  shape?: QuotaShape;
}

interface Counter {
  settings: QuotaSettings;
  used: number;
  resetAt: number;
}

export const USAGE_LIMIT_ERROR_TYPE = 'chat.usage_limit_exceeded';
export const USAGE_LIMIT_REASON = 'REASON_USAGE_LIMIT_EXCEEDED';
const USAGE_LIMIT_MESSAGE = 'Usage limit reached for this account; try again after the reset.';

/** What a refused reply needs to answer. */
export interface QuotaRefusal {
  shape: QuotaShape | undefined;
  /** Seconds until the counter resets (at least 1). */
  retryAfterSec: number;
}

/** Per account key. Accounts without settings are unlimited. */
export class QuotaBook {
  private readonly counters = new Map<string, Counter>();

  constructor(private readonly now: () => number = Date.now) {}

  set(accountKey: string, settings: QuotaSettings): void {
    this.counters.set(accountKey, { settings, used: 0, resetAt: this.now() + settings.resetSec * 1000 });
  }

  clear(accountKey?: string): void {
    if (accountKey === undefined) this.counters.clear();
    else this.counters.delete(accountKey);
  }

  private current(accountKey: string): Counter | undefined {
    const c = this.counters.get(accountKey);
    if (c && this.now() >= c.resetAt) {
      c.used = 0;
      c.resetAt = this.now() + c.settings.resetSec * 1000;
    }
    return c;
  }

  /** Counts one reply; a refusal when the account's counter has run out. */
  take(accountKey: string): QuotaRefusal | undefined {
    const c = this.current(accountKey);
    if (!c) return undefined;
    if (c.used < c.settings.limit) {
      c.used += 1;
      return undefined;
    }
    return { shape: c.settings.shape, retryAfterSec: Math.max(1, Math.ceil((c.resetAt - this.now()) / 1000)) };
  }

  /** `{used, total, remain}` of an account with settings (research/usage, GetSubscriptionStats). */
  usage(accountKey: string): { used: number; total: number; remain: number } | undefined {
    const c = this.current(accountKey);
    if (!c) return undefined;
    return { used: c.used, total: c.settings.limit, remain: Math.max(0, c.settings.limit - c.used) };
  }
}

const limitError = (): ConnectError => ({
  code: 'resource_exhausted',
  message: USAGE_LIMIT_MESSAGE,
  details: [{ type: 'emulator.ErrorInfo', value: '', debug: { reason: USAGE_LIMIT_REASON } }],
});

/** REST: HTTP 429, `Retry-After`, `{"error_type","message"}` (spec A.11). */
export function sendRestLimit(res: ServerResponse, refusal: QuotaRefusal): void {
  sendJson(res, 429, { error_type: USAGE_LIMIT_ERROR_TYPE, message: USAGE_LIMIT_MESSAGE }, { 'retry-after': String(refusal.retryAfterSec) });
}

/** Connect: the chosen shape (spec B.11). */
export function sendConnectLimit(res: ServerResponse, refusal: QuotaRefusal): void {
  const shape = refusal.shape ?? 'stream-error';
  if (shape === 'http') {
    sendJson(res, 429, limitError(), { 'retry-after': String(refusal.retryAfterSec) });
    return;
  }
  const frames = new ConnectFrames();
  const body =
    shape === 'stream-error'
      ? [frames.heartbeat(), frames.error(limitError())]
      : [
          frames.heartbeat(),
          frames.marker({ exception: { error: { reason: USAGE_LIMIT_REASON, localizedMessage: { message: USAGE_LIMIT_MESSAGE } } } }),
          frames.marker({ done: {} }),
          frames.trailer(),
        ];
  res.writeHead(200, { 'content-type': 'application/connect+json' });
  res.end(Buffer.concat(body));
}
