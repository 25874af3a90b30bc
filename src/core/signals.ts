/**
 * Abort signals combined without `AbortSignal.any()`. On Node 20, `AbortSignal.any()` leaves an
 * entry in each source signal for every call, until that source aborts (nodejs/node#55351): a
 * long-lived signal (shutdown, pool close) combined once per request grows memory for good.
 * A linked signal listens to its sources and detaches when `unlink()` is called.
 */

export interface LinkedSignal {
  /** Aborts (with the source's reason) as soon as one of the sources aborts. */
  readonly signal: AbortSignal;
  /** Detaches from the sources; call it when the work the signal guards is over. Idempotent. */
  unlink(): void;
  /** Aborts the linked signal itself (e.g. when a time limit of its own runs out). */
  abort(reason: unknown): void;
}

import { setMaxListeners } from 'node:events';

const noop = (): void => undefined;

/**
 * The reason for internal stops (timers, renew loops) whose reason nobody reads: abort()
 * without one builds a DOMException each time, which showed up in the hot-path profile.
 */
export const STOPPED: Error = new Error('stopped');

/**
 * A controller for a long-lived signal that every in-flight request listens to (shutdown,
 * pool close): one listener per request is expected, so Node's leak warning (at 10) is off.
 */
export function unlimitedController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/**
 * `sources` abort the returned signal until `unlink()`; `lasting` sources abort it for as long
 * as it lives (signals that live no longer than the work itself, such as a request's own,
 * need no detaching, and may be what should still cancel work that outlives the unlink).
 */
export function linkSignals(sources: readonly AbortSignal[], lasting: readonly AbortSignal[] = []): LinkedSignal {
  const controller = new AbortController();
  const abort = (reason: unknown): void => controller.abort(reason);
  const already = sources.find((s) => s.aborted) ?? lasting.find((s) => s.aborted);
  if (already) {
    controller.abort(already.reason);
    return { signal: controller.signal, unlink: noop, abort };
  }
  const onAbort = (event: Event): void => {
    unlink();
    controller.abort((event.target as AbortSignal).reason);
  };
  let linked = true;
  const unlink = (): void => {
    if (!linked) return;
    linked = false;
    for (const s of sources) s.removeEventListener('abort', onAbort);
  };
  for (const s of sources) s.addEventListener('abort', onAbort, { once: true });
  for (const s of lasting) s.addEventListener('abort', onAbort, { once: true });
  return { signal: controller.signal, unlink, abort };
}

/**
 * Runs `work` with a signal that aborts (with a TimeoutError) after `ms`, and clears the timer
 * as soon as the work settles. Not AbortSignal.timeout(): its timer, and everything the
 * signal holds, lives for the whole limit even when the work ended long before.
 */
export async function withTimeout<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`The operation timed out after ${ms} ms.`, 'TimeoutError')), ms);
  timer.unref();
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}
