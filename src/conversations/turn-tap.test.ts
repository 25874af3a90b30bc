import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../core/chat-event.js';
import { newOutcome, tapTurn } from './turn-tap.js';

const reply: ChatEvent[] = [
  { type: 'meta', chatId: 'c1' },
  { type: 'text-delta', text: 'Hel' },
  { type: 'text-delta', text: 'lo' },
  { type: 'finish', reason: 'stop' },
];

async function* source(events: ChatEvent[]): AsyncGenerator<ChatEvent> {
  for (const e of events) yield e;
}

describe('tapTurn', () => {
  it('runs onEnd once when the events end, after the finish hook saw the whole answer', async () => {
    const outcome = newOutcome();
    const seen: string[] = [];
    const tapped = tapTurn(source(reply), outcome, {
      onFinish: async (o) => {
        seen.push(`finish:${o.answer}`);
      },
      onEnd: () => seen.push(`end:${outcome.chatId}`),
    });
    for await (const _ of tapped) void _;
    expect(seen).toEqual(['finish:Hello', 'end:c1']);
  });

  it('a reader that leaves early: onEnd runs with the rest of the turn already being followed', async () => {
    const outcome = newOutcome();
    let followingAtEnd: Promise<void> | undefined;
    const tapped = tapTurn(source(reply), outcome, {
      onFinish: async () => undefined,
      onEnd: () => {
        followingAtEnd = outcome.following;
      },
    });
    await tapped.next();
    await tapped.return(undefined);
    expect(followingAtEnd).toBeInstanceOf(Promise);
    await followingAtEnd;
    expect(outcome.finished).toBe(true);
    expect(outcome.answer).toBe('Hello');
  });

  it('without a finish hook keeps no answer text and still runs onEnd on an early return', async () => {
    const outcome = newOutcome();
    let ended = 0;
    const tapped = tapTurn(source(reply), outcome, { onEnd: () => ended++ });
    await tapped.next();
    await tapped.next();
    await tapped.return(undefined);
    expect(ended).toBe(1);
    expect(outcome.answer).toBe('');
    expect(outcome.chatId).toBe('c1');
  });
});
