import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../core/chat-event.js';
import type { ResolvedModel } from '../models/model-table.js';
import { auxiliaryPrompt, cheapModel, localTitle, reshaped, shapeAnswer } from './cheap-answer.js';
import type { AuxiliaryCall } from './detect.js';

const call = (task: AuxiliaryCall['task'], jsonKey?: string): AuxiliaryCall => ({ task, client: 'test', excerpt: 'How do I bake bread?', jsonKey });

async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const ev of events) out.push(ev);
  return out;
}

describe('cheap answers', () => {
  it('the upstream prompt is one instruction and the one message', () => {
    const text = auxiliaryPrompt(call('title'));
    expect(text).toContain('How do I bake bread?');
    expect(Buffer.byteLength(text)).toBeLessThan(400);
  });

  it('turns search and thinking off, with the instant effort on Connect', () => {
    const model = { requestedId: 'k2-thinking', canonicalId: 'x', baseId: 'x', thinking: true, search: true, reasoningEffort: 'REASONING_EFFORT_HIGH', connect: { instantReasoningEffort: 'REASONING_EFFORT_NONE' } } as unknown as ResolvedModel;
    expect(cheapModel(model)).toMatchObject({ thinking: false, search: false, reasoningEffort: 'REASONING_EFFORT_NONE', requestedId: 'k2-thinking' });
    const rest = { requestedId: 'k2', canonicalId: 'k2', baseId: 'k2', thinking: true, search: true, reasoningEffort: 'x' } as ResolvedModel;
    expect(cheapModel(rest).reasoningEffort).toBeUndefined();
  });

  it("puts the reply in the client's shape: its JSON object, or plain text", () => {
    expect(shapeAnswer(call('title', 'title'), '"🍞 Home Sourdough Baking"\n')).toBe('{"title":"🍞 Home Sourdough Baking"}');
    expect(shapeAnswer(call('title'), 'Home Sourdough Baking')).toBe('Home Sourdough Baking');
    expect(JSON.parse(shapeAnswer(call('tags', 'tags'), '- Cooking\n- Baking\n'))).toEqual({ tags: ['Cooking', 'Baking'] });
    expect(JSON.parse(shapeAnswer(call('follow-ups', 'follow_ups'), '1. Which flour?\n2. How warm?'))).toEqual({ follow_ups: ['Which flour?', 'How warm?'] });
    expect(shapeAnswer(call('queries'), 'sourdough recipe\nbread proofing time')).toBe('sourdough recipe\nbread proofing time');
  });

  it('makes a title locally from the first words (the first characters of CJK text)', () => {
    expect(localTitle('How do I bake sourdough bread at home with a cast iron pot?')).toBe('How do I bake sourdough bread');
    expect(localTitle('Hello!')).toBe('Hello');
    expect(localTitle('我想学习如何在家里烤酸面包，需要准备什么？')).toBe('我想学习如何在家里烤酸面包');
    expect(localTitle('  ')).toBe('New chat');
  });

  it('reshapes the whole upstream reply at its end, passing meta events through', async () => {
    async function* upstream(): AsyncGenerator<ChatEvent> {
      yield { type: 'meta', chatId: 'c1' };
      yield { type: 'text-delta', text: 'Home ' };
      yield { type: 'text-delta', text: 'Baking' };
      yield { type: 'finish', reason: 'stop' };
    }
    expect(await collect(reshaped(upstream(), call('title', 'title')))).toEqual([
      { type: 'meta', chatId: 'c1' },
      { type: 'text-delta', text: '{"title":"Home Baking"}' },
      { type: 'finish', reason: 'stop' },
    ]);
  });
});
