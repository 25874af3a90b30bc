/** Contract: stored Responses API responses (scoped to their owner, gone after their expiry). */
import { describe, expect, it } from 'vitest';
import type { UseContext } from './contract-fixtures.js';
import type { StoredResponse } from './store.js';

const response = (over: Partial<StoredResponse> & { id: string }, now: number): StoredResponse => ({
  owner: 'owner-a',
  body: JSON.stringify({ output: [{ text: `Grüße, 你好 "${over.id}" \\ and\nnewline` }] }),
  createdAt: now,
  expiresAt: now + 60_000,
  ...over,
});

export function responsesContract(use: UseContext): void {
  describe('stored responses', () => {
    it('saves, reads back exactly, replaces and deletes, per owner', async () => {
      const { store, clock } = use();
      const r = response({ id: 'resp_1' }, clock.now());
      await store.saveResponse(r);
      expect(await store.getResponse('owner-a', 'resp_1')).toStrictEqual(r);
      expect(await store.getResponse('owner-b', 'resp_1')).toBeUndefined();
      expect(await store.deleteResponse('owner-b', 'resp_1')).toBe(false);
      const replaced = { ...r, body: '{"v":2}' };
      await store.saveResponse(replaced);
      expect(await store.getResponse('owner-a', 'resp_1')).toStrictEqual(replaced);
      expect(await store.deleteResponse('owner-a', 'resp_1')).toBe(true);
      expect(await store.getResponse('owner-a', 'resp_1')).toBeUndefined();
      expect(await store.deleteResponse('owner-a', 'resp_1')).toBe(false);
    });

    it('a response is gone once its expiry has passed, and deleting it then reports nothing', async () => {
      const { store, clock } = use();
      await store.saveResponse(response({ id: 'resp_old', expiresAt: clock.now() + 1_000 }, clock.now()));
      await store.saveResponse(response({ id: 'resp_new', expiresAt: clock.now() + 5_000 }, clock.now()));
      clock.advance(999);
      expect(await store.getResponse('owner-a', 'resp_old')).toBeDefined();
      clock.advance(1);
      expect(await store.getResponse('owner-a', 'resp_old')).toBeUndefined();
      expect(await store.deleteResponse('owner-a', 'resp_old')).toBe(false);
      // Saving another response may sweep expired ones; the live one stays.
      await store.saveResponse(response({ id: 'resp_3' }, clock.now()));
      expect((await store.getResponse('owner-a', 'resp_new'))?.id).toBe('resp_new');
    });
  });
}
