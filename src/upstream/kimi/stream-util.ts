/** Small byte-stream helpers shared by the Kimi decoders' callers and tests. */
import type { ChatEvent } from '../../core/chat-event.js';
import type { CitationTextSink } from './citation-markers.js';

/** Replays the given chunks as an async byte stream, one read per chunk. */
export async function* fromChunks(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

/** Cuts bytes or text at the given offsets (any order, out-of-range and duplicate offsets ignored). */
export function splitAt<T extends Uint8Array | string>(whole: T, offsets: readonly number[]): T[] {
  const piece = (start: number, end?: number): T => (typeof whole === 'string' ? whole.slice(start, end) : whole.subarray(start, end)) as T;
  const cuts = [...new Set(offsets.filter((o) => o > 0 && o < whole.length))].sort((a, b) => a - b);
  const parts: T[] = [];
  let start = 0;
  for (const cut of cuts) {
    parts.push(piece(start, cut));
    start = cut;
  }
  parts.push(piece(start));
  return parts;
}

/** One chunk per byte: the worst case for any framing code. */
export function byteByByte(bytes: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < bytes.byteLength; i++) parts.push(bytes.subarray(i, i + 1));
  return parts;
}

/** Concatenates byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.byteLength;
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/** What a decoder produced: its events, and the error it ended with, if any. */
export interface DecodeOutcome<E> {
  events: E[];
  error?: { name: string; code?: string; upstreamCode?: string; message: string };
}

/** Drains an event stream, capturing a thrown error instead of rethrowing it. */
export async function collectOutcome<E>(events: AsyncIterable<E>): Promise<DecodeOutcome<E>> {
  const out: E[] = [];
  try {
    for await (const ev of events) out.push(ev);
  } catch (err) {
    const e = err as { name?: unknown; code?: unknown; upstreamCode?: unknown; message?: unknown };
    const error: NonNullable<DecodeOutcome<E>['error']> = {
      name: typeof e.name === 'string' ? e.name : 'Error',
      message: typeof e.message === 'string' ? e.message : String(err),
    };
    if (typeof e.code === 'string') error.code = e.code;
    if (typeof e.upstreamCode === 'string') error.upstreamCode = e.upstreamCode;
    return { events: out, error };
  }
  return { events: out };
}

/**
 * Appends a text or reasoning delta to `out`, merging it into the last event when that is
 * a delta of the same kind. The decoders collect one read's events in `out` and yield them
 * after the read, so this merges consecutive deltas of one read without delaying any text.
 */
export function pushDelta(out: ChatEvent[], type: 'text-delta' | 'reasoning-delta', text: string): void {
  const last = out.length > 0 ? out[out.length - 1] : undefined;
  if (last !== undefined && last.type === type) last.text += text;
  else out.push({ type, text });
}

/**
 * Turns one filtered text stream (answer or reasoning) into events in `out`: its text as
 * merged deltas, its citation references as `citation-ref` events.
 */
export class DeltaSink implements CitationTextSink {
  constructor(
    private readonly out: ChatEvent[],
    private readonly reasoning: boolean,
  ) {}

  text(text: string): void {
    pushDelta(this.out, this.reasoning ? 'reasoning-delta' : 'text-delta', text);
  }

  ref(index: number): void {
    this.out.push(this.reasoning ? { type: 'citation-ref', index, reasoning: true } : { type: 'citation-ref', index });
  }
}

/**
 * Merges adjacent deltas of the same kind (text with text, reasoning with reasoning) into
 * one, concatenating their text; other events are kept as they are. How a stream is split
 * into reads changes only where deltas are cut, so the merged sequence does not depend on it.
 */
export function mergeAdjacentDeltas(events: readonly ChatEvent[]): ChatEvent[] {
  const merged: ChatEvent[] = [];
  for (const ev of events) {
    if (ev.type === 'text-delta' || ev.type === 'reasoning-delta') pushDelta(merged, ev.type, ev.text);
    else merged.push(ev);
  }
  return merged;
}
