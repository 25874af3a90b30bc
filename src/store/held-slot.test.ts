import { describe, expect, it } from 'vitest';
import { FakeClock } from './fake-clock.js';
import { HeldSlot, RenewalSweep } from './held-slot.js';
import { MemoryStore } from './memory.js';

/** Lets the sweep's store calls settle. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

/** Advances in steps, settling after each, so that every due sweep runs at its time. */
async function advance(clock: FakeClock, ms: number, step = 250): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    clock.advance(Math.min(step, ms - done));
    await settle();
  }
}

function setup() {
  const clock = new FakeClock();
  const store = new MemoryStore(clock);
  const sweep = new RenewalSweep(clock, 3_000);
  return { clock, store, sweep };
}

describe('HeldSlot and RenewalSweep', () => {
  it('keeps a held slot alive past its lease, and gives it back once released, once', async () => {
    const { clock, store, sweep } = setup();
    const token = (await store.acquireSlot('k', 1, 3_000))!;
    const released: string[] = [];
    const counting = { ...store, acquireSlot: store.acquireSlot.bind(store), renewSlot: store.renewSlot.bind(store), releaseSlot: (key: string, t: string) => (released.push(t), store.releaseSlot(key, t)) };
    const slot = new HeldSlot(counting, { key: 'k', token, limit: 1, leaseMs: 3_000 });
    sweep.add(slot);
    await advance(clock, 10_000);
    expect(await store.acquireSlot('k', 1, 3_000)).toBeUndefined();
    await slot.release();
    await slot.release();
    expect(released).toEqual([token]);
    expect(await store.acquireSlot('k', 1, 3_000)).toBeDefined();
    expect(await slot.renew()).toBe(false);
  });

  it('takes an expired slot again, under a new token, when it is still free', async () => {
    const { clock, store } = setup();
    const token = (await store.acquireSlot('k', 1, 3_000))!;
    const slot = new HeldSlot(store, { key: 'k', token, limit: 1, leaseMs: 3_000 });
    clock.advance(5_000); // a stall longer than the lease
    expect(await slot.renew()).toBe(true);
    expect(slot.token).not.toBe(token);
    expect(await store.renewSlot('k', slot.token, 3_000)).toBe(true);
  });

  it('does not keep a slot someone else took after an expiry', async () => {
    const { clock, store } = setup();
    const slot = new HeldSlot(store, { key: 'k', token: (await store.acquireSlot('k', 1, 3_000))!, limit: 1, leaseMs: 3_000 });
    clock.advance(5_000);
    const other = await store.acquireSlot('k', 1, 3_000);
    expect(other).toBeDefined();
    expect(await slot.renew()).toBe(true); // still held by its owner, who keeps trying
    expect(await store.renewSlot('k', other!, 3_000)).toBe(true);
    expect(await store.acquireSlot('k', 2, 3_000)).toBeDefined(); // only one of two taken
  });

  it('stops renewing at its time limit', async () => {
    const { clock, store, sweep } = setup();
    const slot = new HeldSlot(store, { key: 'k', token: (await store.acquireSlot('k', 1, 3_000))!, limit: 1, leaseMs: 3_000, deadline: { clock, at: clock.now() + 4_000 } });
    sweep.add(slot);
    await advance(clock, 4_000);
    expect(await store.acquireSlot('k', 1, 3_000)).toBeUndefined(); // renewed until the limit
    await advance(clock, 3_500);
    expect(await store.acquireSlot('k', 1, 3_000)).toBeDefined(); // then left to expire
  });

  it('reports store failures and keeps the slot in the sweep', async () => {
    const { store } = setup();
    const errors: unknown[] = [];
    const failing = { ...store, renewSlot: () => Promise.reject(new Error('down')), acquireSlot: store.acquireSlot.bind(store), releaseSlot: store.releaseSlot.bind(store) };
    const slot = new HeldSlot(failing, { key: 'k', token: 'token', limit: 1, leaseMs: 3_000, onStoreError: (err) => errors.push(err) });
    expect(await slot.renew()).toBe(true);
    expect(errors).toHaveLength(1);
  });

  it('runs one timer for all held slots and none when nothing is held', async () => {
    const { clock, store } = setup();
    const sleeps: number[] = [];
    const counting = Object.assign(Object.create(clock) as FakeClock, {
      sleep: (ms: number, signal?: AbortSignal) => {
        sleeps.push(ms);
        return clock.sleep(ms, signal);
      },
    });
    const counted = new RenewalSweep(counting, 3_000);
    const slots = await Promise.all([0, 1, 2].map(async () => new HeldSlot(store, { key: 'k', token: (await store.acquireSlot('k', 3, 3_000))!, limit: 3, leaseMs: 3_000 })));
    for (const slot of slots) counted.add(slot);
    await advance(clock, 3_000, 1_000);
    expect(sleeps).toEqual([1_000, 1_000, 1_000, 1_000]);
    for (const slot of slots) counted.delete(slot);
    await advance(clock, 3_000, 1_000);
    expect(sleeps).toHaveLength(4); // the pending sleep ends, and no new one starts
    counted.add(slots[0]!);
    expect(sleeps).toHaveLength(5); // a new slot starts the sweep again
  });
});
