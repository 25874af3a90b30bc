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

/**
 * `onFinish` runs before the finish event reaches the client, so the next turn always finds
 * the saved state. The answer text is kept only for that hook (nothing else reads it), and
 * the per-event observation is synchronous: this generator sits on the per-delta path.
 */
export interface TapHooks {
  /** Runs at `finish`, before it is passed on. */
  onFinish?: (o: TurnOutcome) => Promise<void>;
  /**
   * Runs once the reader is done with the events (end, failure or early return), after
   * `outcome.following` is set when the turn is followed on: the turn's cleanup, here rather
   * than in a generator of its own around this one, which would cost every event a layer.
   */
  onEnd?: () => void;
}

export async function* tapTurn(events: AsyncIterable<ChatEvent>, outcome: TurnOutcome, hooks: TapHooks = {}): AsyncGenerator<ChatEvent> {
  const { onFinish, onEnd } = hooks;
  const answer = onFinish ? new GrowingText(outcome.answer) : undefined;
  /** Notes what the event tells; returns the hook's promise at finish. */
  const observe = (ev: ChatEvent): Promise<void> | undefined => {
    switch (ev.type) {
      case 'meta':
        if (ev.chatId) outcome.chatId = ev.chatId;
        if (ev.assistantMessageId) outcome.assistantMessageId = ev.assistantMessageId;
        if (ev.segmentId) outcome.segmentId = ev.segmentId;
        break;
      case 'text-delta':
        answer?.append(ev.text);
        break;
      case 'text-replace':
        if (answer && answer.text.endsWith(ev.previous)) answer.set(answer.text.slice(0, answer.length - ev.previous.length) + ev.text);
        break;
      case 'tool-call':
        outcome.toolCalls.push(ev.call);
        break;
      case 'finish':
        outcome.finished = true;
        if (answer) outcome.answer = answer.text;
        if (onFinish) return onFinish(outcome);
        break;
    }
    return undefined;
  };
  const it = events[Symbol.asyncIterator]();
  let over = false;
  try {
    for (;;) {
      const next = await it.next();
      if (next.done) break;
      const hook = observe(next.value);
      if (hook) await hook;
      yield next.value;
    }
    over = true;
  } catch (err) {
    over = true;
    throw err;
  } finally {
    try {
      if (!over) {
        // The reader left early. Without a hook, or once finished, the upstream can stop now;
        // otherwise read on: a stream whose client has gone ends with what had already arrived.
        if (onFinish && !outcome.finished) outcome.following = follow(it, observe);
        else await it.return?.(undefined);
      }
    } finally {
      onEnd?.();
    }
  }
}

async function follow(it: AsyncIterator<ChatEvent>, observe: (ev: ChatEvent) => Promise<void> | undefined): Promise<void> {
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
