import { describe, expect, it } from 'vitest';
import { ProxyError } from '../core/errors.js';
import { FakeClock } from '../store/fake-clock.js';
import { MemoryStore } from '../store/memory.js';
import { ConversationLocks } from './conversation-lock.js';

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

/** Advances in steps, settling after each, so that every due renewal and poll runs at its time. */
async function advance(clock: FakeClock, ms: number, step = 50): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    clock.advance(Math.min(step, ms - done));
    await settle();
  }
}

function setup(waitMs: number, holdMs = 120_000) {
  const clock = new FakeClock();
  const store = new MemoryStore(clock);
  return { clock, store, locks: new ConversationLocks({ store, clock, waitMs, holdMs }) };
}

const signal = new AbortController().signal;

describe('ConversationLocks', () => {
  it('lets one turn at a time into a conversation, per owner', async () => {
    const { locks } = setup(0);
    const unlock = await locks.lock('key1', 'c', signal);
    expect(await locks.tryLock('key1', 'c')).toBeUndefined();
    // Another owner's conversation of the same id is another conversation.
    expect(await locks.tryLock('key2', 'c')).toBeDefined();
    unlock();
    await settle();
    expect(await locks.tryLock('key1', 'c')).toBeDefined();
  });

  it('answers conversation_busy once the bounded wait is over', async () => {
    const { clock, locks } = setup(1_000);
    await locks.lock('key1', 'c', signal);
    const waiting = locks.lock('key1', 'c', signal).catch((err: unknown) => err);
    await advance(clock, 1_100);
    const err = await waiting;
    expect(err).toBeInstanceOf(ProxyError);
    expect((err as ProxyError).code).toBe('conversation_busy');
  });

  it('hands the lock to a waiting turn when the running one ends within the wait', async () => {
    const { clock, locks } = setup(1_000);
    const unlock = await locks.lock('key1', 'c', signal);
    let got = false;
    const waiting = locks.lock('key1', 'c', signal).then((u) => ((got = true), u));
    await advance(clock, 200);
    expect(got).toBe(false);
    unlock();
    await advance(clock, 100);
    expect(got).toBe(true);
    expect(typeof (await waiting)).toBe('function');
  });

  it('keeps a long turn locked past the lease, but never past the turn limit', async () => {
    const { clock, locks } = setup(0, 60_000);
    await locks.lock('key1', 'c', signal);
    await advance(clock, 40_000, 1_000);
    expect(await locks.tryLock('key1', 'c')).toBeUndefined();
    // A holder that never unlocks (its process stalled) stops being renewed at the limit.
    await advance(clock, 40_000, 1_000);
    expect(await locks.tryLock('key1', 'c')).toBeDefined();
  });
});
