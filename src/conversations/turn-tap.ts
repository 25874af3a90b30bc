/** Follows a turn's events to learn its upstream ids and answer text, and runs a hook before `finish` is passed on. */
import type { ChatEvent } from '../core/chat-event.js';
import { GrowingText } from '../core/growing-text.js';

export interface TurnOutcome {
  chatId?: string;
  assistantMessageId?: string;
  segmentId?: string;
  /** The answer text exactly as emitted (after citation-marker rewriting). */
  answer: string;
  finished: boolean;
}

export function newOutcome(chatId?: string): TurnOutcome {
  return chatId ? { chatId, answer: '', finished: false } : { answer: '', finished: false };
}

/** `onFinish` runs before the finish event reaches the client, so the next turn always finds the saved state. */
export async function* tapTurn(events: AsyncIterable<ChatEvent>, outcome: TurnOutcome, onFinish?: (o: TurnOutcome) => Promise<void>): AsyncGenerator<ChatEvent> {
  const answer = new GrowingText(outcome.answer);
  for await (const ev of events) {
    switch (ev.type) {
      case 'meta':
        if (ev.chatId) outcome.chatId = ev.chatId;
        if (ev.assistantMessageId) outcome.assistantMessageId = ev.assistantMessageId;
        if (ev.segmentId) outcome.segmentId = ev.segmentId;
        break;
      case 'text-delta':
        answer.append(ev.text);
        outcome.answer = answer.text;
        break;
      case 'text-replace':
        if (answer.text.endsWith(ev.previous)) {
          answer.set(answer.text.slice(0, answer.length - ev.previous.length) + ev.text);
          outcome.answer = answer.text;
        }
        break;
      case 'finish':
        outcome.finished = true;
        if (onFinish) await onFinish(outcome);
        break;
    }
    yield ev;
  }
}
