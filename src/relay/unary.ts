/**
 * A non-chat upstream call (account probe, model catalog, chat deletion) through the attempt
 * loop: leased, retried and failed over like a chat turn, its outcome reported to the
 * account's health. Usable before a protocol client exists (protocol detection runs on it).
 */
import { linkSignals, withTimeout } from '../core/signals.js';
import type { UpstreamCallContext } from '../upstream/kimi/types.js';
import { AttemptLoop, type AttemptLoopOptions } from './attempt-loop.js';

export interface UnaryOptions {
  /** Only this account may serve (e.g. it holds the chat to delete). */
  accountId?: string;
  /** Stops the whole call, the wait for an account included. */
  signal?: AbortSignal;
  /** Time limit of each upstream call. */
  timeoutMs: number;
}

export type UnaryCall<T> = (ctx: UpstreamCallContext) => Promise<T>;

export async function runUnary<T>(loopOptions: AttemptLoopOptions, call: UnaryCall<T>, opts: UnaryOptions): Promise<T> {
  const target = { ...(opts.accountId !== undefined ? { accountId: opts.accountId } : {}), ...(opts.signal ? { signal: opts.signal } : {}) };
  const loop = new AttemptLoop<T>(loopOptions, target, (_lease, credentials) =>
    withTimeout(opts.timeoutMs, async (limit) => {
      if (!opts.signal) return call({ credentials, signal: limit });
      const link = linkSignals([limit, opts.signal]);
      try {
        return await call({ credentials, signal: link.signal });
      } finally {
        link.unlink();
      }
    }),
  );
  const { lease, value } = await loop.open();
  lease.report('ok');
  lease.release();
  return value;
}
