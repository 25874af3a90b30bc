/** Contract: the queue of upstream chats to delete. */
import { describe, expect, it } from 'vitest';
import type { UseContext } from './contract-fixtures.js';

export function deletionContract(use: UseContext): void {
  describe('pending deletions', () => {
    it('is not claimable before it is due, and then is handed out with its fields', async () => {
      const { store, clock } = use();
      const t = clock.now();
      await store.enqueueDeletion({ accountId: 'acct-1', protocol: 'connect', chatId: 'chat-9', dueAt: t + 1_000 });
      expect(await store.claimDueDeletions(t + 999, 10, 60_000)).toEqual([]);
      const [item, ...rest] = await store.claimDueDeletions(t + 1_000, 10, 60_000);
      expect(rest).toEqual([]);
      expect(item).toStrictEqual({ id: expect.any(String), accountId: 'acct-1', protocol: 'connect', chatId: 'chat-9', dueAt: t + 1_000, attempts: 1 });
    });

    it('hides a claimed item for leaseMs, then hands it out again', async () => {
      const { store, clock } = use();
      const t = clock.now();
      await store.enqueueDeletion({ accountId: 'acct-1', protocol: 'rest', chatId: 'chat-1', dueAt: t });
      const [first] = await store.claimDueDeletions(t, 10, 5_000);
      expect(await store.claimDueDeletions(t, 10, 5_000)).toEqual([]);
      expect(await store.claimDueDeletions(t + 4_999, 10, 5_000)).toEqual([]);
      const [again] = await store.claimDueDeletions(t + 5_001, 10, 5_000);
      expect(again?.id).toBe(first?.id);
      expect(again?.attempts).toBe(2);
    });

    it('gives each item to only one of several concurrent claimers', async () => {
      const { store, clock } = use();
      const t = clock.now();
      for (let i = 0; i < 5; i++) await store.enqueueDeletion({ accountId: 'acct-1', protocol: 'rest', chatId: `chat-${i}`, dueAt: t });
      const batches = await Promise.all([store.claimDueDeletions(t, 3, 60_000), store.claimDueDeletions(t, 3, 60_000)]);
      const claimed = batches.flat().map((d) => d.chatId);
      expect(claimed).toHaveLength(5);
      expect(new Set(claimed).size).toBe(5);
    });

    it('puts a retried item back with its new due time', async () => {
      const { store, clock } = use();
      const t = clock.now();
      await store.enqueueDeletion({ accountId: 'acct-1', protocol: 'rest', chatId: 'chat-1', dueAt: t });
      const [item] = await store.claimDueDeletions(t, 10, 1_000);
      await store.retryDeletion(item?.id ?? '', t + 10_000);
      // The lease has run out, but the item is not due again yet.
      expect(await store.claimDueDeletions(t + 2_000, 10, 1_000)).toEqual([]);
      const [retried] = await store.claimDueDeletions(t + 10_000, 10, 1_000);
      expect(retried).toMatchObject({ id: item?.id, chatId: 'chat-1', dueAt: t + 10_000, attempts: 2 });
    });

    it('removes a completed item for good', async () => {
      const { store, clock } = use();
      const t = clock.now();
      await store.enqueueDeletion({ accountId: 'acct-1', protocol: 'rest', chatId: 'done', dueAt: t });
      await store.enqueueDeletion({ accountId: 'acct-1', protocol: 'rest', chatId: 'kept', dueAt: t });
      const claimed = await store.claimDueDeletions(t, 10, 1_000);
      const done = claimed.find((d) => d.chatId === 'done');
      await store.completeDeletion(done?.id ?? '');
      const later = await store.claimDueDeletions(t + 3_600_000, 10, 1_000);
      expect(later.map((d) => d.chatId)).toEqual(['kept']);
    });

    it('hands out the earliest due items first, at most `limit` per claim', async () => {
      const { store, clock } = use();
      const t = clock.now();
      for (const offset of [30, 10, 50, 20, 40]) {
        await store.enqueueDeletion({ accountId: 'acct-1', protocol: 'rest', chatId: `chat-${offset}`, dueAt: t + offset });
      }
      const first = await store.claimDueDeletions(t + 100, 2, 60_000);
      expect(first.map((d) => d.chatId)).toEqual(['chat-10', 'chat-20']);
      const second = await store.claimDueDeletions(t + 100, 10, 60_000);
      expect(second.map((d) => d.chatId)).toEqual(['chat-30', 'chat-40', 'chat-50']);
    });

    it('leaves items that are not due yet in the queue', async () => {
      const { store, clock } = use();
      const t = clock.now();
      await store.enqueueDeletion({ accountId: 'acct-1', protocol: 'rest', chatId: 'now', dueAt: t });
      await store.enqueueDeletion({ accountId: 'acct-2', protocol: 'rest', chatId: 'later', dueAt: t + 60_000 });
      expect((await store.claimDueDeletions(t, 10, 120_000)).map((d) => d.chatId)).toEqual(['now']);
      expect((await store.claimDueDeletions(t + 59_999, 10, 120_000)).map((d) => d.chatId)).toEqual([]);
      expect((await store.claimDueDeletions(t + 60_000, 10, 120_000)).map((d) => d.chatId)).toEqual(['later']);
    });
  });
}
