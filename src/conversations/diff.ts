/** Works out what a stateful turn must send upstream, given the stored transcript. */
import type { TranscriptMessage } from '../store/store.js';
import type { ChatMessage } from './messages.js';

const norm = (s: string): string => s.replace(/\r\n/g, '\n').trim();

/** True when the client's copy of a message is the stored one (assistant text may carry our appended sources list). */
export function sameMessage(stored: TranscriptMessage, incoming: ChatMessage): boolean {
  if (stored.role !== incoming.role) return false;
  const a = norm(stored.content);
  const b = norm(incoming.content);
  return stored.role === 'assistant' ? b === a || b.startsWith(a) : a === b;
}

/**
 * The messages that are new relative to the transcript:
 * - the client resent the whole history plus a new turn → the part after the stored prefix;
 * - the client sent only the new turn → the messages after its last assistant message.
 */
export function newMessagesSince(transcript: TranscriptMessage[], incoming: ChatMessage[]): ChatMessage[] {
  if (transcript.length > 0 && incoming.length > transcript.length && transcript.every((m, i) => sameMessage(m, incoming[i]!))) {
    return incoming.slice(transcript.length);
  }
  let start = incoming.length;
  while (start > 0 && incoming[start - 1]!.role !== 'assistant') start--;
  return incoming.slice(start);
}
