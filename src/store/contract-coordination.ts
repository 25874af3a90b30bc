/** Contract: locks, slot semaphores, start reservations and counters. */
import { describe, expect, it } from 'vitest';
import type { UseContext } from './contract-fixtures.js';

export function coordinationContract(use: UseContext): void {
  describe('locks', () => {
    it('is exclusive per key', async () => {
      const { store } = use();
      const token = await store.tryLock('job', 10_000);
      expect(typeof token).toBe('string');
      expect(await store.tryLock('job', 10_000)).toBeUndefined();
      expect(typeof (await store.tryLock('other-job', 10_000))).toBe('string');
    });

    it('gives the lock to exactly one of several concurrent callers', async () => {
      const { store } = use();
      const tokens = await Promise.all(Array.from({ length: 8 }, () => store.tryLock('race', 10_000)));
      expect(tokens.filter((t) => t !== undefined)).toHaveLength(1);
    });

    it('can be taken again once released', async () => {
      const { store } = use();
      const first = await store.tryLock('job', 10_000);
      await store.releaseLock('job', first ?? '');
      const second = await store.tryLock('job', 10_000);
      expect(typeof second).toBe('string');
      expect(second).not.toBe(first);
    });

    it('ignores a release with the wrong token', async () => {
      const { store } = use();
      const token = await store.tryLock('job', 10_000);
      await store.releaseLock('job', 'not-the-token');
      expect(await store.tryLock('job', 10_000)).toBeUndefined();
      await store.releaseLock('job', token ?? '');
      expect(typeof (await store.tryLock('job', 10_000))).toBe('string');
    });

    it('expires after its TTL, and the old holder cannot release the new holder’s lock', async () => {
      const { store, clock } = use();
      const stale = await store.tryLock('job', 1_000);
      clock.advance(999);
      expect(await store.tryLock('job', 1_000)).toBeUndefined();
      clock.advance(2);
      const fresh = await store.tryLock('job', 1_000);
      expect(typeof fresh).toBe('string');
      await store.releaseLock('job', stale ?? '');
      expect(await store.tryLock('job', 1_000)).toBeUndefined();
    });
  });

  describe('slots', () => {
    it('enforces the limit per key and counts held slots', async () => {
      const { store } = use();
      const a = await store.acquireSlot('acct', 2, 10_000);
      const b = await store.acquireSlot('acct', 2, 10_000);
      expect(typeof a).toBe('string');
      expect(typeof b).toBe('string');
      expect(a).not.toBe(b);
      expect(await store.acquireSlot('acct', 2, 10_000)).toBeUndefined();
      expect(await store.countSlots('acct')).toBe(2);
      expect(typeof (await store.acquireSlot('other', 2, 10_000))).toBe('string');
      expect(await store.countSlots('other')).toBe(1);
      expect(await store.countSlots('empty')).toBe(0);
    });

    it('never grants more than the limit to concurrent callers', async () => {
      const { store } = use();
      const tokens = await Promise.all(Array.from({ length: 10 }, () => store.acquireSlot('acct', 3, 10_000)));
      expect(tokens.filter((t) => t !== undefined)).toHaveLength(3);
      expect(await store.countSlots('acct')).toBe(3);
    });

    it('frees a slot on release, and ignores an unknown token', async () => {
      const { store } = use();
      const a = await store.acquireSlot('acct', 1, 10_000);
      await store.releaseSlot('acct', 'not-a-token');
      expect(await store.countSlots('acct')).toBe(1);
      await store.releaseSlot('acct', a ?? '');
      expect(await store.countSlots('acct')).toBe(0);
      expect(typeof (await store.acquireSlot('acct', 1, 10_000))).toBe('string');
    });

    it('frees the slot of an expired lease by itself', async () => {
      const { store, clock } = use();
      await store.acquireSlot('acct', 1, 1_000);
      clock.advance(999);
      expect(await store.countSlots('acct')).toBe(1);
      expect(await store.acquireSlot('acct', 1, 1_000)).toBeUndefined();
      clock.advance(2);
      expect(await store.countSlots('acct')).toBe(0);
      expect(typeof (await store.acquireSlot('acct', 1, 1_000))).toBe('string');
    });

    it('extends a held lease on renew', async () => {
      const { store, clock } = use();
      const token = await store.acquireSlot('acct', 1, 1_000);
      clock.advance(800);
      expect(await store.renewSlot('acct', token ?? '', 1_000)).toBe(true);
      clock.advance(800);
      expect(await store.countSlots('acct')).toBe(1);
      expect(await store.acquireSlot('acct', 1, 1_000)).toBeUndefined();
      clock.advance(201);
      expect(await store.countSlots('acct')).toBe(0);
    });

    it('refuses to renew an expired or unknown lease, and does not revive it', async () => {
      const { store, clock } = use();
      const token = await store.acquireSlot('acct', 1, 1_000);
      clock.advance(1_001);
      expect(await store.renewSlot('acct', token ?? '', 1_000)).toBe(false);
      expect(await store.countSlots('acct')).toBe(0);
      expect(await store.renewSlot('acct', 'not-a-token', 1_000)).toBe(false);
      const other = await store.acquireSlot('acct', 1, 1_000);
      expect(typeof other).toBe('string');
      expect(await store.renewSlot('other-key', other ?? '', 1_000)).toBe(false);
    });
  });

  describe('a restarted instance', () => {
    it('releases at once the locks and slots its earlier run left behind, and nothing else', async () => {
      const { store } = use();
      // Another instance, and this one before its crash.
      await store.adoptIdentity('host-b:8000');
      const othersSlot = await store.acquireSlot('acct', 3, 30_000);
      const othersLock = await store.tryLock('refresh:b', 10_000);
      await store.adoptIdentity('host-a:8000');
      expect(await store.acquireSlot('acct', 3, 30_000)).toBeDefined();
      expect(await store.acquireSlot('conv', 1, 10_000)).toBeDefined();
      expect(await store.tryLock('refresh:a', 10_000)).toBeDefined();
      expect(await store.acquireSlot('conv', 1, 10_000)).toBeUndefined();

      // The restart: same name, new run. Its own earlier leases are gone at once.
      expect(await store.adoptIdentity('host-a:8000')).toBe(3);
      expect(await store.countSlots('acct')).toBe(1);
      const conv = await store.acquireSlot('conv', 1, 10_000);
      expect(conv).toBeDefined();
      expect(await store.tryLock('refresh:a', 10_000)).toBeDefined();
      // The other instance's are untouched.
      expect(await store.tryLock('refresh:b', 10_000)).toBeUndefined();
      expect(await store.renewSlot('acct', othersSlot!, 30_000)).toBe(true);
      expect(othersLock).toBeDefined();

      // A reclaim by another name leaves this run's leases alone.
      await store.adoptIdentity('host-c:8000');
      expect(await store.renewSlot('conv', conv!, 10_000)).toBe(true);
    });
  });

  describe('start reservations', () => {
    it('gives the first caller `now` and spaces consecutive callers by minIntervalMs', async () => {
      const { store, clock } = use();
      const t = clock.now();
      expect(await store.reserveStart('acct', 1_000, t)).toBe(t);
      expect(await store.reserveStart('acct', 1_000, t)).toBe(t + 1_000);
      expect(await store.reserveStart('acct', 1_000, t + 400)).toBe(t + 2_000);
      expect(await store.reserveStart('other', 1_000, t)).toBe(t);
    });

    it('never gives two concurrent callers the same start', async () => {
      const { store, clock } = use();
      const t = clock.now();
      const starts = await Promise.all(Array.from({ length: 6 }, () => store.reserveStart('acct', 250, t)));
      expect([...starts].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5].map((i) => t + i * 250));
    });

    it('gives `now` to a caller after a long idle period', async () => {
      const { store, clock } = use();
      const t = clock.now();
      await store.reserveStart('acct', 1_000, t);
      await store.reserveStart('acct', 1_000, t);
      expect(await store.reserveStart('acct', 1_000, t + 60_000)).toBe(t + 60_000);
      expect(await store.reserveStart('acct', 1_000, t + 60_000)).toBe(t + 61_000);
    });
  });

  describe('counters', () => {
    it('counts up per key', async () => {
      const { store } = use();
      expect(await store.increment('hits')).toBe(1);
      expect(await store.increment('hits')).toBe(2);
      expect(await store.increment('hits')).toBe(3);
      expect(await store.increment('misses')).toBe(1);
    });

    it('is atomic under concurrent increments', async () => {
      const { store } = use();
      const values = await Promise.all(Array.from({ length: 20 }, () => store.increment('hits', 60_000)));
      expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    });

    it('resets once the window from its first increment has passed', async () => {
      const { store, clock } = use();
      expect(await store.increment('rate', 1_000)).toBe(1);
      clock.advance(500);
      expect(await store.increment('rate', 1_000)).toBe(2);
      clock.advance(499);
      expect(await store.increment('rate', 1_000)).toBe(3);
      clock.advance(2);
      expect(await store.increment('rate', 1_000)).toBe(1);
      // The new window starts at that increment, not at the old window's end.
      clock.advance(998);
      expect(await store.increment('rate', 1_000)).toBe(2);
      clock.advance(3);
      expect(await store.increment('rate', 1_000)).toBe(1);
    });

    it('never expires without a window', async () => {
      const { store, clock } = use();
      await store.increment('total');
      clock.advance(365 * 24 * 3_600_000);
      expect(await store.increment('total')).toBe(2);
    });
  });
}
