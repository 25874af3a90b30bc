/**
 * The pull loop every renderer shares: take ChatEvents one at a time from the decoded
 * stream, and when the renderer stops early (finish seen, a failure of its own, or its
 * reader went away) let the source clean up exactly once.
 *
 * Why not `for await`: a renderer still yields frames after the `finish` event (sources,
 * usage, `[DONE]`), and the source (the upstream call and its account lease) must stay
 * open until those frames went out; `for await` would close it at the `break`. A source
 * that ended or threw by itself is finished and is not asked to clean up again.
 *
 *   const source = new EventPull(events);
 *   try {
 *     for (let step = await source.next(); step.done !== true; step = await source.next()) { … step.value … }
 *   } finally {
 *     await source.close();
 *   }
 */
import type { ChatEvent } from '../core/chat-event.js';

export class EventPull {
  private readonly it: AsyncIterator<ChatEvent>;
  private last: Promise<IteratorResult<ChatEvent>> | undefined;
  private closed = false;

  constructor(events: AsyncIterable<ChatEvent>) {
    this.it = events[Symbol.asyncIterator]();
  }

  /**
   * The source's own next step, untouched: this is the per-delta path, so nothing is
   * wrapped around it; only the promise is kept, for close() to read how the source stopped.
   */
  next(): Promise<IteratorResult<ChatEvent>> {
    this.last = this.it.next();
    return this.last;
  }

  /** Lets a source that has not finished clean up (its own failure there is not the client's concern). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Called from a renderer's `finally`, never while a next() is pending: `last` has settled.
    if (this.last !== undefined) {
      const finished = await this.last.then(
        (step) => step.done === true,
        () => true,
      );
      if (finished) return;
    }
    try {
      await this.it.return?.();
    } catch {
      // The source's cleanup failing changes nothing for the reply already rendered.
    }
  }
}
