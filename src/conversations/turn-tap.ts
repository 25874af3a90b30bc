/**
 * Follows a turn's events to learn its upstream ids and answer text, and runs a hook before
 * `finish` is passed on. With a hook, the turn is followed to its upstream end even when the
 * reader leaves first: what Kimi finished is saved, whoever was reading.
 */
import type { ChatEvent, ToolCall } from '../core/chat-event.js';
import { GrowingText } from '../core/growing-text.js';

export interface TurnOutcome {
  chatId?: string;
  assistantMessageId?: string;
  segmentId?: string;
  /** The answer text as emitted, without citation markers (those are `citation-ref` events, rendered by the door). */
  answer: string;
  /** Function calls the answer made (tool pipeline). */
  toolCalls: ToolCall[];
  finished: boolean;
  /**
   * Set when the reader left before the end and the rest of the turn is being followed
   * without it; resolves when that is over (`finished` then says whether Kimi finished).
   */
  following?: Promise<void>;
}

export function newOutcome(chatId?: string): TurnOutcome {
  return chatId ? { chatId, answer: '', toolCalls: [], finished: false } : { answer: '', toolCalls: [], finished: false };
}

/** `onFinish` runs before the finish event reaches the client, so the next turn always finds the saved state. */
export async function* tapTurn(events: AsyncIterable<ChatEvent>, outcome: TurnOutcome, onFinish?: (o: TurnOutcome) => Promise<void>): AsyncGenerator<ChatEvent> {
  const answer = new GrowingText(outcome.answer);
  const observe = async (ev: ChatEvent): Promise<void> => {
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
      case 'tool-call':
        outcome.toolCalls.push(ev.call);
        break;
      case 'finish':
        outcome.finished = true;
        if (onFinish) await onFinish(outcome);
        break;
    }
  };
  const it = events[Symbol.asyncIterator]();
  let over = false;
  try {
    for (;;) {
      const next = await it.next();
      if (next.done) break;
      await observe(next.value);
      yield next.value;
    }
    over = true;
  } catch (err) {
    over = true;
    throw err;
  } finally {
    if (!over) {
      // The reader left early. Without a hook, or once finished, the upstream can stop now;
      // otherwise read on: a stream whose client has gone ends with what had already arrived.
      if (onFinish && !outcome.finished) outcome.following = follow(it, observe);
      else await it.return?.(undefined);
    }
  }
}

async function follow(it: AsyncIterator<ChatEvent>, observe: (ev: ChatEvent) => Promise<void>): Promise<void> {
  try {
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      await observe(next.value);
    }
  } catch {
    // Nobody to tell: the turn is simply not saved.
  }
}
