/** Helpers of the OpenAI stream renderer's tests: render events, read frames back. */
import { expect } from 'vitest';
import type { ChatEvent } from '../../../core/chat-event.js';
import { baseOptions, collect, eventsFrom, parseFrames, type Frame } from '../../__fixtures__/sse.js';
import type { RenderOptions } from '../render-options.js';
import { renderChatStream } from '../stream.js';

export async function render(events: ChatEvent[], opts: Partial<RenderOptions> = {}, error?: unknown): Promise<Frame[]> {
  return parseFrames(await collect(renderChatStream(eventsFrom(events, error), baseOptions(opts))));
}

export function json(frame: Frame | undefined): Record<string, unknown> {
  if (!frame || frame.done) throw new Error('expected a JSON frame');
  return frame.json;
}

export interface ChoiceLike {
  index: number;
  delta: Record<string, unknown>;
  logprobs: null;
  finish_reason: string | null;
}

export function choice(frame: Frame | undefined): ChoiceLike {
  const choices = json(frame).choices as ChoiceLike[];
  expect(choices).toHaveLength(1);
  return choices[0] as ChoiceLike;
}

/** Concatenation of every `delta.content` in the frames. */
export function contentOf(frames: Frame[]): string {
  let text = '';
  for (const frame of frames) {
    if (frame.done) continue;
    const choices = frame.json.choices as ChoiceLike[] | undefined;
    const content = choices?.[0]?.delta.content;
    if (typeof content === 'string') text += content;
  }
  return text;
}

export const hello: ChatEvent[] = [
  { type: 'meta', chatId: 'c1' },
  { type: 'text-delta', text: 'Hel' },
  { type: 'heartbeat' },
  { type: 'search', queries: ['q'] },
  { type: 'text-delta', text: 'lo' },
  { type: 'finish', reason: 'stop' },
];
