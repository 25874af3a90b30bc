import { describe, expect, it } from 'vitest';
import { storedConversation } from './__fixtures__/conversation.js';
import { fingerprint } from './fingerprint.js';
import { conversationAfterTurn, reuseContext, type TurnRun, type TurnToRecord } from './turn-record.js';
import { newOutcome } from './turn-tap.js';

const previous = storedConversation({ lastAssistantMessageId: 'msg_old' });

const turn = (over: Partial<TurnToRecord> = {}): TurnToRecord => ({
  conversationId: 'c',
  owner: 'key1',
  protocol: 'rest',
  model: 'k2',
  previous,
  base: previous.transcript,
  fresh: [{ role: 'user', content: 'second question' }],
  implicit: false,
  reuse: {},
  ...over,
});

const run = (over: Partial<TurnRun> = {}): TurnRun => ({
  accountId: 'acct_a',
  chatId: 'chat_old',
  outcome: { ...newOutcome('chat_old'), answer: 'second answer', finished: true },
  continued: true,
  now: 5,
  ...over,
});

describe('conversationAfterTurn', () => {
  it('appends the sent messages and the answer to the transcript the turn built on, keeping the creation time', () => {
    const next = conversationAfterTurn(turn(), run());
    expect(next.transcript).toEqual([...previous.transcript, { role: 'user', content: 'second question' }, { role: 'assistant', content: 'second answer' }]);
    expect(next).toMatchObject({ createdAt: 1, updatedAt: 5, model: 'k2', upstreamChatId: 'chat_old', lastAssistantMessageId: 'msg_old' });
    expect(next.implicit).toBeUndefined();
  });

  it('does not carry the old chat’s parent message into a migrated chat', () => {
    const next = conversationAfterTurn(turn(), run({ accountId: 'acct_b', chatId: 'chat_new', continued: false }));
    expect(next).toMatchObject({ accountId: 'acct_b', upstreamChatId: 'chat_new' });
    expect(next.lastAssistantMessageId).toBeUndefined();
  });

  it('drops a tool result that names no call, and keeps the answer’s function calls', () => {
    const toolCalls = [{ id: 'call_1', name: 'lookup', arguments: '{}' }];
    const next = conversationAfterTurn(
      turn({ previous: undefined, base: [], fresh: [{ role: 'user', content: 'q' }, { role: 'tool', content: 'orphan' }] }),
      run({ outcome: { ...newOutcome(), answer: '', toolCalls, finished: true, assistantMessageId: 'msg_2' } }),
    );
    expect(next.transcript).toEqual([
      { role: 'user', content: 'q' },
      { role: 'assistant', content: '', upstreamId: 'msg_2', toolCalls },
    ]);
    expect(next).toMatchObject({ createdAt: 5, lastAssistantMessageId: 'msg_2' });
  });

  it('makes an implicit conversation findable by its whole history within the same reuse scope only', () => {
    const scope = { sessionHint: 'session-1' };
    const next = conversationAfterTurn(turn({ implicit: true, reuse: scope }), run());
    expect(next.implicit).toBe(true);
    expect(next.fingerprint).toBe(fingerprint(next.transcript, reuseContext(scope)));
    expect(next.fingerprint).not.toBe(fingerprint(next.transcript, reuseContext({ sessionHint: 'session-2' })));
  });
});
