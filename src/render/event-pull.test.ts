import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../core/chat-event.js';
import { EventPull } from './event-pull.js';

const delta = (text: string): ChatEvent => ({ type: 'text-delta', text });

/** A hand-written iterator, so that every return() call is seen (an async generator hides repeated ones). */
function counted(events: ChatEvent[], failAt?: number): { iterable: AsyncIterable<ChatEvent>; returns: () => number } {
  let i = 0;
  let returns = 0;
  const iterable: AsyncIterable<ChatEvent> = {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        if (i === failAt) throw new Error('upstream broke');
        return i < events.length ? { done: false, value: events[i++]! } : { done: true, value: undefined };
      },
      return: async () => {
        returns++;
        return { done: true, value: undefined };
      },
    }),
  };
  return { iterable, returns: () => returns };
}

describe('EventPull', () => {
  it('hands out the events in order, then done, and does not ask a finished source to clean up', async () => {
    const { iterable, returns } = counted([delta('a'), delta('b')]);
    const source = new EventPull(iterable);
    expect(await source.next()).toEqual({ done: false, value: delta('a') });
    expect(await source.next()).toEqual({ done: false, value: delta('b') });
    expect((await source.next()).done).toBe(true);
    await source.close();
    expect(returns()).toBe(0);
  });

  it('rethrows the failure of the source and does not ask it to clean up after it', async () => {
    const { iterable, returns } = counted([delta('a')], 1);
    const source = new EventPull(iterable);
    await source.next();
    await expect(source.next()).rejects.toThrow('upstream broke');
    await source.close();
    expect(returns()).toBe(0);
  });

  it('lets a source stopped early clean up exactly once, and swallows a failing cleanup', async () => {
    const { iterable, returns } = counted([delta('a'), delta('b')]);
    const source = new EventPull(iterable);
    await source.next();
    await source.close();
    await source.close();
    expect(returns()).toBe(1);

    const failing: AsyncIterable<ChatEvent> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => ({ done: false, value: delta('x') }),
        return: async () => {
          throw new Error('cleanup failed');
        },
      }),
    };
    const other = new EventPull(failing);
    await other.next();
    await expect(other.close()).resolves.toBeUndefined();
  });
});
