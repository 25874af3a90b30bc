/** Contract: conversations, fingerprint lookup and the idle implicit listing. */
import { describe, expect, it } from 'vitest';
import { conversation, fullConversation, ids, type UseContext } from './contract-fixtures.js';

export function conversationContract(use: UseContext): void {
  describe('conversations', () => {
    it('returns undefined for an unknown conversation', async () => {
      expect(await use().store.getConversation('owner-a', 'nope')).toBeUndefined();
    });

    it('round-trips a conversation with every optional field', async () => {
      const { store, clock } = use();
      const rec = fullConversation('c-full', clock.now());
      await store.saveConversation(rec);
      expect(await store.getConversation(rec.owner, rec.id)).toStrictEqual(rec);
    });

    it('round-trips a minimal conversation without inventing optional fields', async () => {
      const { store, clock } = use();
      const rec = conversation({ id: 'c-min', updatedAt: clock.now() });
      await store.saveConversation(rec);
      expect(await store.getConversation(rec.owner, rec.id)).toStrictEqual(rec);
      await store.saveConversation({ ...rec, id: 'c-explicit', implicit: false });
      expect((await store.getConversation(rec.owner, 'c-explicit'))?.implicit).toBe(false);
    });

    it('replaces a conversation saved again under the same owner and id', async () => {
      const { store, clock } = use();
      const first = fullConversation('c1', clock.now());
      await store.saveConversation(first);
      const { lastAssistantMessageId: _dropped, ...withoutMessageId } = first;
      const second = { ...withoutMessageId, transcript: [...first.transcript, { role: 'user' as const, content: 'more' }], updatedAt: clock.now() + 5 };
      await store.saveConversation(second);
      expect(await store.getConversation(first.owner, first.id)).toStrictEqual(second);
      expect(await store.listConversations({ owner: first.owner, limit: 10 })).toHaveLength(1);
    });

    it('hands out copies: mutating a returned record does not change the stored one', async () => {
      const { store, clock } = use();
      const rec = conversation({ id: 'c1', updatedAt: clock.now() });
      await store.saveConversation(rec);
      const got = await store.getConversation(rec.owner, rec.id);
      got?.transcript.push({ role: 'assistant', content: 'sneaky' });
      rec.transcript.push({ role: 'assistant', content: 'also sneaky' });
      expect((await store.getConversation(rec.owner, rec.id))?.transcript).toHaveLength(1);
    });

    it('deletes a conversation once', async () => {
      const { store, clock } = use();
      await store.saveConversation(conversation({ id: 'c1', updatedAt: clock.now() }));
      expect(await store.deleteConversation('owner-a', 'c1')).toBe(true);
      expect(await store.getConversation('owner-a', 'c1')).toBeUndefined();
      expect(await store.deleteConversation('owner-a', 'c1')).toBe(false);
      expect(await store.listConversations({ limit: 10 })).toEqual([]);
    });

    it('scopes conversations by owner: one owner never reads, lists or deletes another one', async () => {
      const { store, clock } = use();
      const a = conversation({ id: 'same-id', owner: 'alice', updatedAt: clock.now(), model: 'model-a' });
      const b = conversation({ id: 'same-id', owner: 'bob', updatedAt: clock.now() + 1, model: 'model-b' });
      await store.saveConversation(a);
      await store.saveConversation(b);
      expect(await store.getConversation('alice', 'same-id')).toStrictEqual(a);
      expect(await store.getConversation('bob', 'same-id')).toStrictEqual(b);
      expect(await store.getConversation('carol', 'same-id')).toBeUndefined();
      expect(await store.getConversation('', 'same-id')).toBeUndefined();
      expect(await store.listConversations({ owner: 'alice', limit: 10 })).toStrictEqual([a]);
      expect(await store.listConversations({ owner: 'carol', limit: 10 })).toEqual([]);
      expect(await store.deleteConversation('carol', 'same-id')).toBe(false);
      expect(await store.deleteConversation('alice', 'same-id')).toBe(true);
      expect(await store.getConversation('bob', 'same-id')).toStrictEqual(b);
    });

    it('lists newest first with limit and offset, for one owner or for all', async () => {
      const { store, clock } = use();
      const t = clock.now();
      const order = [3, 1, 4, 0, 2];
      for (const i of order) await store.saveConversation(conversation({ id: `c${i}`, owner: i % 2 ? 'odd' : 'even', updatedAt: t + i * 10 }));
      expect(ids(await store.listConversations({ limit: 10 }))).toEqual(['c4', 'c3', 'c2', 'c1', 'c0']);
      expect(ids(await store.listConversations({ limit: 2 }))).toEqual(['c4', 'c3']);
      expect(ids(await store.listConversations({ limit: 2, offset: 2 }))).toEqual(['c2', 'c1']);
      expect(ids(await store.listConversations({ limit: 2, offset: 4 }))).toEqual(['c0']);
      expect(ids(await store.listConversations({ limit: 2, offset: 5 }))).toEqual([]);
      expect(ids(await store.listConversations({ owner: 'even', limit: 10 }))).toEqual(['c4', 'c2', 'c0']);
      expect(ids(await store.listConversations({ owner: 'odd', limit: 1, offset: 1 }))).toEqual(['c1']);
      // An update moves a conversation to the front.
      await store.saveConversation(conversation({ id: 'c0', owner: 'even', updatedAt: t + 100 }));
      expect(ids(await store.listConversations({ limit: 2 }))).toEqual(['c0', 'c4']);
    });
  });

  describe('conversations by fingerprint', () => {
    it('finds the newest conversation of the owner with that fingerprint', async () => {
      const { store, clock } = use();
      const t = clock.now();
      await store.saveConversation(conversation({ id: 'old', fingerprint: 'fp', updatedAt: t }));
      await store.saveConversation(conversation({ id: 'new', fingerprint: 'fp', updatedAt: t + 10 }));
      await store.saveConversation(conversation({ id: 'other-fp', fingerprint: 'fp2', updatedAt: t + 20 }));
      await store.saveConversation(conversation({ id: 'no-fp', updatedAt: t + 30 }));
      expect((await store.findConversationByFingerprint('owner-a', 'fp'))?.id).toBe('new');
      expect((await store.findConversationByFingerprint('owner-a', 'fp2'))?.id).toBe('other-fp');
      expect(await store.findConversationByFingerprint('owner-a', 'unknown')).toBeUndefined();
      // Touching the older one makes it the newest.
      await store.saveConversation(conversation({ id: 'old', fingerprint: 'fp', updatedAt: t + 40 }));
      expect((await store.findConversationByFingerprint('owner-a', 'fp'))?.id).toBe('old');
    });

    it('never returns another owner’s conversation', async () => {
      const { store, clock } = use();
      await store.saveConversation(conversation({ id: 'mine', owner: 'alice', fingerprint: 'shared', updatedAt: clock.now() }));
      await store.saveConversation(conversation({ id: 'theirs', owner: 'bob', fingerprint: 'shared', updatedAt: clock.now() + 10 }));
      expect((await store.findConversationByFingerprint('alice', 'shared'))?.id).toBe('mine');
      expect((await store.findConversationByFingerprint('bob', 'shared'))?.id).toBe('theirs');
      expect(await store.findConversationByFingerprint('carol', 'shared')).toBeUndefined();
    });

    it('follows re-saves and deletes: a changed or removed fingerprint no longer matches', async () => {
      const { store, clock } = use();
      const t = clock.now();
      await store.saveConversation(conversation({ id: 'a', fingerprint: 'fp-1', updatedAt: t }));
      await store.saveConversation(conversation({ id: 'b', fingerprint: 'fp-2', updatedAt: t }));
      await store.saveConversation(conversation({ id: 'a', fingerprint: 'fp-3', updatedAt: t + 1 }));
      expect(await store.findConversationByFingerprint('owner-a', 'fp-1')).toBeUndefined();
      expect((await store.findConversationByFingerprint('owner-a', 'fp-3'))?.id).toBe('a');
      await store.saveConversation(conversation({ id: 'a', updatedAt: t + 2 }));
      expect(await store.findConversationByFingerprint('owner-a', 'fp-3')).toBeUndefined();
      await store.deleteConversation('owner-a', 'b');
      expect(await store.findConversationByFingerprint('owner-a', 'fp-2')).toBeUndefined();
    });
  });

  describe('idle implicit conversations', () => {
    it('lists implicit conversations not updated since `before`, across owners, up to `limit`', async () => {
      const { store, clock } = use();
      const t = clock.now();
      await store.saveConversation(conversation({ id: 'idle-1', implicit: true, updatedAt: t }));
      await store.saveConversation(conversation({ id: 'idle-2', owner: 'bob', implicit: true, updatedAt: t + 10 }));
      await store.saveConversation(conversation({ id: 'at-cutoff', implicit: true, updatedAt: t + 50 }));
      await store.saveConversation(conversation({ id: 'fresh', implicit: true, updatedAt: t + 60 }));
      await store.saveConversation(conversation({ id: 'explicit-old', implicit: false, updatedAt: t }));
      await store.saveConversation(conversation({ id: 'unflagged-old', updatedAt: t }));
      expect(ids(await store.listIdleImplicitConversations(t + 50, 10)).sort()).toEqual(['idle-1', 'idle-2']);
      const limited = await store.listIdleImplicitConversations(t + 50, 1);
      expect(limited).toHaveLength(1);
      expect(['idle-1', 'idle-2']).toContain(limited[0]?.id);
      expect(await store.listIdleImplicitConversations(t, 10)).toEqual([]);
    });

    it('follows updates and deletes', async () => {
      const { store, clock } = use();
      const t = clock.now();
      await store.saveConversation(conversation({ id: 'a', implicit: true, updatedAt: t }));
      await store.saveConversation(conversation({ id: 'b', implicit: true, updatedAt: t }));
      await store.saveConversation(conversation({ id: 'c', implicit: true, updatedAt: t }));
      await store.saveConversation(conversation({ id: 'a', implicit: true, updatedAt: t + 100 }));
      await store.saveConversation(conversation({ id: 'b', implicit: false, updatedAt: t }));
      await store.deleteConversation('owner-a', 'c');
      expect(await store.listIdleImplicitConversations(t + 50, 10)).toEqual([]);
    });
  });
}
