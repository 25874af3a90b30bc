/** Test doubles for the account pool: a stepping fake clock, JWT makers and a scripted refresher. */
import type { Clock } from '../../core/clock.js';
import { RefreshTokenRejectedError, type RefreshResult } from '../../upstream/kimi/auth.js';
import type { RefreshFn } from '../pool-types.js';

interface Sleeper {
  at: number;
  seq: number;
  resolve: () => void;
}

/** Lets every pending promise chain run (no timers or I/O are involved in the code under test). */
export async function flush(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Time moves only through `advance`, which wakes sleepers one due time after another. */
export class SteppingClock implements Clock {
  private sleepers: Sleeper[] = [];
  private seq = 0;

  constructor(private current = 1_800_000_000_000) {}

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(signal?.reason);
      };
      const sleeper: Sleeper = {
        at: this.current + Math.max(0, ms),
        seq: this.seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.push(sleeper);
    });
  }

  /** Advances to now + ms, stopping at each due sleeper so that work it starts sees the right time. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await flush();
      const due = this.sleepers.filter((s) => s.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq);
      const first = due[0];
      if (!first) break;
      this.current = Math.max(this.current, first.at);
      const now = due.filter((s) => s.at <= this.current);
      this.sleepers = this.sleepers.filter((s) => !now.includes(s));
      for (const s of now) s.resolve();
    }
    this.current = target;
    await flush();
  }

  get pending(): number {
    return this.sleepers.length;
  }
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

export function jwt(payload: Record<string, unknown>): string {
  return `${b64({ alg: 'HS512', typ: 'JWT' })}.${b64(payload)}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk`;
}

/** An access JWT as Kimi issues it (spec 1.2), valid from `nowMs` for `ttlSec`. */
export function accessJwt(nowMs: number, ttlSec: number, extra: Record<string, unknown> = {}): string {
  const iat = Math.floor(nowMs / 1000);
  return jwt({ iss: 'account', typ: 'access', app_id: 'kimi', sub: 'user00000000000000001', iat, exp: iat + ttlSec, device_id: '7123456789012345678', ssid: '1712345678901234567', jti: `j${iat}${Math.random()}`, ...extra });
}

export interface ScriptedRefresher {
  fn: RefreshFn;
  /** Refresh tokens used, in call order. */
  calls: string[];
  /** Refresh tokens the "upstream" refuses (RefreshTokenRejectedError). */
  rejected: Set<string>;
  /** Makes the next calls fail with this error (until cleared with undefined). */
  failWith(error: Error | undefined): void;
  /** Holds every call until `releaseAll` (to make refreshes overlap). */
  hold(): void;
  releaseAll(): void;
}

/**
 * A refresher that issues access JWTs valid for `ttlSec` from the clock's time; with
 * `rotate`, every call also returns the next refresh token of the lineage: `t` → `t~r1` → `t~r2`.
 */
export function scriptedRefresher(clock: Clock, opts: { ttlSec?: number; rotate?: boolean } = {}): ScriptedRefresher {
  const calls: string[] = [];
  const rejected = new Set<string>();
  let failure: Error | undefined;
  let holding = false;
  let held: Array<() => void> = [];
  const fn: RefreshFn = async ({ refreshToken }) => {
    calls.push(refreshToken);
    const n = calls.length;
    if (holding) await new Promise<void>((r) => held.push(r));
    if (failure) throw failure;
    if (rejected.has(refreshToken)) throw new RefreshTokenRejectedError('Kimi rejected the refresh token.', undefined, 'auth.token.invalid');
    const result: RefreshResult = { accessToken: accessJwt(clock.now(), opts.ttlSec ?? 900, { jti: `call${n}` }) };
    if (opts.rotate) {
      const [base, generation] = refreshToken.split('~r');
      result.refreshToken = `${base}~r${Number(generation ?? 0) + 1}`;
    }
    return result;
  };
  return {
    fn,
    calls,
    rejected,
    failWith: (e) => {
      failure = e;
    },
    hold: () => {
      holding = true;
    },
    releaseAll: () => {
      holding = false;
      const list = held;
      held = [];
      for (const r of list) r();
    },
  };
}
