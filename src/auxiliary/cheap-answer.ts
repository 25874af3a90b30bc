/**
 * How an auxiliary call is answered cheaply: a short upstream prompt of our own (the task in
 * one sentence and the one message it is about), search and thinking off, and the reply put
 * back in the shape the client asked for (plain text, or its JSON object). A title can also
 * be made locally from the first words of the first user message, without calling Kimi.
 */
import type { ChatEvent } from '../core/chat-event.js';
import type { ResolvedModel } from '../models/model-table.js';
import type { AuxiliaryCall } from './detect.js';
import type { AuxiliaryTask } from './signatures.js';

/** One sentence per task; the reply is plain text, one item per line, so any model keeps to it. */
const INSTRUCTIONS: Record<AuxiliaryTask, string> = {
  title: 'Write a short title (at most 6 words) for a conversation that starts with the message below, in the language of the message. Reply with the title only.',
  tags: 'Give 1 to 3 broad topic tags for a conversation that starts with the message below, in the language of the message. Reply with the tags only, one per line.',
  'follow-ups': 'Suggest 3 short follow-up questions the user might ask next after the message below, in the language of the message. Reply with the questions only, one per line.',
  queries: 'Write 1 to 3 web search queries that would help answer the message below, in the language of the message. Reply with the queries only, one per line.',
};

/** The whole upstream text of an auxiliary call. */
export function auxiliaryPrompt(call: AuxiliaryCall): string {
  return `${INSTRUCTIONS[call.task]}\n\nMessage:\n${call.excerpt}`;
}

/** Search and thinking off: neither helps a title, and both cost time (and, for thinking, quota). */
export function cheapModel(model: ResolvedModel): ResolvedModel {
  const cheap: ResolvedModel = { ...model, thinking: false, search: false };
  const instant = model.connect?.instantReasoningEffort;
  if (instant) cheap.reasoningEffort = instant;
  else delete cheap.reasoningEffort;
  return cheap;
}

const TITLE_WORDS = 6;
const TITLE_CJK_CHARS = 16;
const CJK = /[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/u;

/** A title from the first words of the message (the first characters for CJK text), without Kimi. */
export function localTitle(excerpt: string): string {
  const text = excerpt.replace(/[`*_#>[\]]/g, ' ').replace(/\s+/g, ' ').trim();
  if (text === '') return 'New chat';
  if (CJK.test(text.slice(0, 4))) {
    const points = Array.from(text.split(/[。！？，,!?\n]/)[0]!.trim());
    return points.slice(0, TITLE_CJK_CHARS).join('');
  }
  return text.split(' ').slice(0, TITLE_WORDS).join(' ').replace(/[.,;:!?]+$/, '');
}

/** Lines of a list reply, without bullets, numbers or quotes. */
function items(text: string): string[] {
  return text
    .split(/\n|,(?=\s)/)
    .map((l) => l.replace(/^\s*(?:[-*•]|\d+[.)])\s*/, '').replace(/^["'“]|["'”]$/g, '').trim())
    .filter((l) => l !== '');
}

/** The reply in the client's shape: its JSON object when it asked for one, else the text. */
export function shapeAnswer(call: AuxiliaryCall, reply: string): string {
  const text = reply.trim();
  if (call.task === 'title') {
    const title = text.split('\n')[0]!.replace(/^["'“]|["'”]$/g, '').trim();
    return call.jsonKey ? JSON.stringify({ [call.jsonKey]: title }) : title;
  }
  const list = items(text);
  return call.jsonKey ? JSON.stringify({ [call.jsonKey]: list }) : list.join('\n');
}

/** The events of an answer made without Kimi. */
export async function* localEvents(text: string): AsyncGenerator<ChatEvent> {
  yield { type: 'text-delta', text };
  yield { type: 'finish', reason: 'stop' };
}

/**
 * Reads the upstream reply to its end and yields it reshaped (the client parses the whole
 * answer anyway). Non-text events (heartbeats, meta) pass through.
 */
export async function* reshaped(events: AsyncIterable<ChatEvent>, call: AuxiliaryCall): AsyncGenerator<ChatEvent> {
  let text = '';
  for await (const ev of events) {
    if (ev.type === 'text-delta') text += ev.text;
    else if (ev.type === 'text-replace') text = text.slice(0, Math.max(0, text.length - ev.previous.length)) + ev.text;
    else if (ev.type === 'finish') {
      yield { type: 'text-delta', text: shapeAnswer(call, text) };
      yield ev;
    } else if (ev.type === 'meta' || ev.type === 'heartbeat') yield ev;
  }
}
