/** Connect frames and decode helpers shared by the Connect decoder tests. */
import { expect } from 'vitest';
import type { ChatEvent } from '../../../core/chat-event.js';
import { decodeConnectChat, type DecodeConnectChatOptions } from '../connect/decode.js';
import { encodeJsonEnvelope, FLAG_END_STREAM } from '../connect/envelope.js';
import { byteByByte, collectOutcome, concatBytes, fromChunks, mergeAdjacentDeltas } from '../stream-util.js';

export const enc = new TextEncoder();

export const data = (json: unknown) => encodeJsonEnvelope(json);
export const trailer = (json: unknown = {}) => encodeJsonEnvelope(json, FLAG_END_STREAM);
export const done = () => data({ eventOffset: 99, done: {} });

export function setText(id: string, content: string, extra: Record<string, unknown> = {}) {
  return data({ op: 'set', mask: 'block.text', block: { id, text: { content, ...extra } } });
}
export function appendText(id: string, content: string) {
  return data({ op: 'append', mask: 'block.text.content', block: { id, text: { content } } });
}
export function setThink(id: string, content: string) {
  return data({ op: 'set', mask: 'block.think', block: { id, think: { content } } });
}
export function appendThink(id: string, content: string) {
  return data({ op: 'append', mask: 'block.think.content', block: { id, think: { content } } });
}

export async function decode(frames: Uint8Array[], opts?: DecodeConnectChatOptions, split: 'frames' | 'whole' | 'bytes' = 'frames') {
  const chunks = split === 'frames' ? frames : split === 'whole' ? [concatBytes(frames)] : byteByByte(concatBytes(frames));
  return collectOutcome(decodeConnectChat(fromChunks(chunks), opts));
}

export function merged<T extends { events: ChatEvent[] }>(outcome: T): T {
  return { ...outcome, events: mergeAdjacentDeltas(outcome.events) };
}

/** The text of one kind of delta, with that text's citation references shown as `[n]`. */
export function texts(events: ChatEvent[], type: 'text-delta' | 'reasoning-delta' = 'text-delta'): string {
  const reasoning = type === 'reasoning-delta';
  return events.map((e) => (e.type === type ? e.text : e.type === 'citation-ref' && (e.reasoning === true) === reasoning ? `[${e.index}]` : '')).join('');
}

/** What a client that applies text-delta and text-replace would show. */
export function shown(events: ChatEvent[]): string {
  let s = '';
  for (const e of events) {
    if (e.type === 'text-delta') s += e.text;
    if (e.type === 'text-replace') {
      expect(s.endsWith(e.previous)).toBe(true);
      s = s.slice(0, s.length - e.previous.length) + e.text;
    }
  }
  return s;
}
