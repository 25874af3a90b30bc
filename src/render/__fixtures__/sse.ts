import type { ChatEvent } from '../../core/chat-event.js';
import type { RenderOptions } from '../openai/render-options.js';

/** Async iterable over fixed events, optionally throwing `error` after them. */
export async function* eventsFrom(events: ChatEvent[], error?: unknown): AsyncGenerator<ChatEvent> {
  for (const event of events) yield event;
  if (error !== undefined) throw error;
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of it) out.push(item);
  return out;
}

export type Frame = { done: true } | { done: false; json: Record<string, unknown> };

/** Parses complete `data:` frames; fails on anything that is not exactly `data: <one line>\n\n`. */
export function parseFrames(frames: string[]): Frame[] {
  return frames.map((frame) => {
    const match = /^data: ([^\r\n]*)\n\n$/.exec(frame);
    if (!match) throw new Error(`malformed frame: ${JSON.stringify(frame)}`);
    const payload = match[1] ?? '';
    if (payload === '[DONE]') return { done: true };
    return { done: false, json: JSON.parse(payload) as Record<string, unknown> };
  });
}

/** A frame of an event-named stream (Anthropic Messages, Responses): its `event:` name and its data. */
export interface NamedFrame<D = Record<string, unknown>> {
  event: string;
  data: D;
}

/**
 * Parses a whole body of `event: X\ndata: {json}` frames; fails on any other frame, on a body
 * that does not end with a blank line, and on data whose `type` is not the frame's event name.
 */
export function parseNamedFrames<D extends { type?: unknown } = Record<string, unknown>>(body: string): Array<NamedFrame<D>> {
  if (!body.endsWith('\n\n')) throw new Error(`the stream does not end with a blank line: ${JSON.stringify(body.slice(-40))}`);
  return body
    .slice(0, -2)
    .split('\n\n')
    .map((f) => {
      const m = /^event: ([\w.]+)\ndata: (.*)$/.exec(f);
      if (!m) throw new Error(`malformed frame ${JSON.stringify(f)}`);
      const data = JSON.parse(m[2]!) as D;
      if (data.type !== m[1]) throw new Error(`frame ${m[1]} carries data of type ${String(data.type)}`);
      return { event: m[1]!, data };
    });
}

/** Splits a raw SSE body into frames (keeping the terminating blank line). */
export function splitBody(body: string): string[] {
  return body
    .split('\n\n')
    .filter((part) => part.length > 0)
    .map((part) => `${part}\n\n`);
}

export function baseOptions(overrides: Partial<RenderOptions> = {}): RenderOptions {
  return {
    id: 'chatcmpl-test123',
    created: 1_700_000_000,
    model: 'kimi-k2',
    includeUsage: false,
    reasoning: 'reasoning_content',
    citations: 'list',
    promptTokens: 12,
    ...overrides,
  };
}

/** What a client assembles from `data:` frames: every `delta.content` and `delta.reasoning_content`, joined. */
export function streamedText(frames: string[]): { content: string; reasoning: string } {
  let content = '';
  let reasoning = '';
  for (const frame of parseFrames(frames)) {
    if (frame.done) continue;
    const delta = (frame.json.choices as { delta?: { content?: unknown; reasoning_content?: unknown } }[] | undefined)?.[0]?.delta;
    if (typeof delta?.content === 'string') content += delta.content;
    if (typeof delta?.reasoning_content === 'string') reasoning += delta.reasoning_content;
  }
  return { content, reasoning };
}
