/** The fault vocabulary shared by `[[emu fault=...]]` directives and per-token faults. */
import { FAULT_NAMES, type FaultName, type FaultSpec, type TokenFaultOptions } from './types.js';

/** Faults answered with an HTTP status before any body. */
export const STATUS_FAULTS: Partial<Record<FaultName, number>> = { '401': 401, '429': 429, '500': 500, '502': 502, '503': 503 };

/** Connect code for an HTTP status fault (spec B.11). */
export const CONNECT_CODE_FOR_STATUS: Record<number, string> = {
  401: 'unauthenticated',
  429: 'resource_exhausted',
  500: 'internal',
  502: 'unavailable',
  503: 'unavailable',
};

export const DEFAULT_RETRY_AFTER_SEC = 2;

export function isFaultName(value: string): value is FaultName {
  return (FAULT_NAMES as readonly string[]).includes(value);
}

interface Armed {
  spec: FaultSpec;
  remaining: number | undefined;
}

/** Per-token (or per-account-key) faults with an optional use count. */
export class TokenFaults {
  private readonly armed = new Map<string, Armed>();

  set(key: string, fault: FaultName, opts: TokenFaultOptions = {}): void {
    const spec: FaultSpec = {
      fault,
      after: Math.max(0, Math.floor(opts.after ?? 0)),
      retryAfterSec: opts.retryAfter === undefined ? DEFAULT_RETRY_AFTER_SEC : opts.retryAfter,
    };
    if (opts.code) spec.code = opts.code;
    const remaining = opts.times === undefined ? undefined : Math.max(0, Math.floor(opts.times));
    if (remaining === 0) this.armed.delete(key);
    else this.armed.set(key, { spec, remaining });
  }

  clear(key?: string): void {
    if (key === undefined) this.armed.clear();
    else this.armed.delete(key);
  }

  /**
   * The fault armed for this token (looked up by the token, then its account key) if `applies`
   * accepts it; consumes one use.
   */
  take(token: string, accountKey: string, applies: (fault: FaultName) => boolean): FaultSpec | undefined {
    for (const key of token === accountKey ? [token] : [token, accountKey]) {
      const armed = this.armed.get(key);
      if (!armed || !applies(armed.spec.fault)) continue;
      if (armed.remaining !== undefined && --armed.remaining <= 0) this.armed.delete(key);
      return armed.spec;
    }
    return undefined;
  }
}
