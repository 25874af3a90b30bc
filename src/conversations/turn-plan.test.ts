import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../core/chat-event.js';
import { baseOptions, collect, eventsFrom, streamedText } from '../render/__fixtures__/sse.js';
import { renderCompletion } from '../render/openai/completion.js';
import type { CitationStyle, ReasoningOutput } from '../render/openai/render-options.js';
import { renderChatStream } from '../render/openai/stream.js';
import type { TranscriptMessage } from '../store/store.js';
import type { ChatMessage } from './messages.js';
import { canonicalContent, planTurn } from './turn-plan.js';
import { newOutcome, tapTurn } from './turn-tap.js';

const u = (content: string): ChatMessage => ({ role: 'user', content });
const a = (content: string): ChatMessage => ({ role: 'assistant', content });
const s = (content: string): ChatMessage => ({ role: 'system', content });

const stored: TranscriptMessage[] = [
  { role: 'system', content: 'sys' },
  { role: 'user', content: 'q1' },
  { role: 'assistant', content: 'a1', upstreamId: 'A1' },
  { role: 'user', content: 'q2' },
  { role: 'assistant', content: 'a2', upstreamId: 'A2' },
];

describe('planTurn', () => {
  it('continues with only the new message when the client sends just that', () => {
    expect(planTurn(stored, [u('q3')], true)).toEqual({ kind: 'continue', fresh: [u('q3')] });
  });

  it('drops a system prompt the conversation already has', () => {
    expect(planTurn(stored, [s('sys'), u('q3')], true)).toEqual({ kind: 'continue', fresh: [u('q3')] });
    expect(planTurn(stored, [s('new rules'), u('q3')], true)).toEqual({ kind: 'continue', fresh: [s('new rules'), u('q3')] });
  });

  it('continues with the tail when the client resends the whole history', () => {
    const plan = planTurn(stored, [s('sys'), u('q1'), a('a1'), u('q2'), a('a2'), u('q3')], true);
    expect(plan).toEqual({ kind: 'continue', fresh: [u('q3')] });
  });

  it('recognises our own replies as the renderers wrote them, whatever the reasoning and citation styles', async () => {
    // A reply with reasoning and inline citations (one inside the reasoning).
    const reply: ChatEvent[] = [
      { type: 'reasoning-delta', text: 'Let me look' },
      { type: 'citation-ref', index: 2, reasoning: true },
      { type: 'reasoning-delta', text: '.' },
      { type: 'text-delta', text: 'Paris' },
      { type: 'citation-ref', index: 1 },
      { type: 'text-delta', text: ' is the capital' },
      { type: 'text-delta', text: ' of France' },
      { type: 'citation-ref', index: 1 },
      { type: 'citation-ref', index: 2 },
      { type: 'text-delta', text: '.\nSee arr[0].' },
      { type: 'citation', citation: { index: 1, url: 'https://one.example/', title: 'One' } },
      { type: 'citation', citation: { index: 2, url: 'https://two.example/', title: 'Two' } },
      { type: 'finish', reason: 'stop' },
    ];
    // What the conversation stores: the answer as the turn tap follows it for its save hook.
    const outcome = newOutcome();
    await collect(tapTurn(eventsFrom(reply), outcome, { onFinish: async () => undefined }));
    const transcript: TranscriptMessage[] = [...stored.slice(0, 4), { role: 'assistant', content: outcome.answer, upstreamId: 'A2' }];
    for (const citations of ['list', 'footnotes', 'none'] as CitationStyle[]) {
      for (const reasoning of ['think_tags', 'reasoning_content', 'none'] as ReasoningOutput[]) {
        const opts = baseOptions({ citations, reasoning });
        const completion = (await renderCompletion(eventsFrom(reply), opts)).choices[0].message.content ?? '';
        const streamed = streamedText(await collect(renderChatStream(eventsFrom(reply), opts))).content;
        for (const shown of [completion, streamed]) {
          // Decorated, except with neither citations nor think tags.
          expect(shown === outcome.answer).toBe(citations === 'none' && reasoning !== 'think_tags');
          expect(canonicalContent('assistant', shown)).toBe(canonicalContent('assistant', outcome.answer));
          expect(planTurn(transcript, [u('q1'), a('a1'), u('q2'), a(shown), u('q3')], true)).toEqual({ kind: 'continue', fresh: [u('q3')] });
        }
      }
    }
  });

  it('still recognises replies stored with [n] markers, as earlier versions stored them', () => {
    const older: TranscriptMessage[] = [{ role: 'user', content: 'q1' }, { role: 'assistant', content: 'Paris[1] is big[1][2].', upstreamId: 'A1' }];
    const shown = 'Paris[^1] is big[^1][^2].\n\n[^1]: [One](https://one.example/)\n[^2]: [Two](https://two.example/)';
    expect(planTurn(older, [u('q1'), a(shown), u('q2')], true)).toEqual({ kind: 'continue', fresh: [u('q2')] });
  });

  it('tells a different reply apart from ours', () => {
    expect(planTurn(stored, [u('q1'), a('a1'), u('q2'), a('a2, edited[1]'), u('q3')], true).kind).toBe('branch');
  });

  it('continues when the client trimmed the oldest messages', () => {
    expect(planTurn(stored, [u('q2'), a('a2'), u('q3')], true)).toEqual({ kind: 'continue', fresh: [u('q3')] });
  });

  it('branches from the assistant turn before an edited user message', () => {
    const plan = planTurn(stored, [u('q1'), a('a1'), u('q2 edited')], true);
    expect(plan).toEqual({ kind: 'branch', fresh: [u('q2 edited')], keep: 3, parentId: 'A1' });
  });

  it('branches for a regenerate (history without the last reply)', () => {
    const plan = planTurn(stored, [s('sys'), u('q1'), a('a1'), u('q2')], true);
    expect(plan).toEqual({ kind: 'branch', fresh: [u('q2')], keep: 3, parentId: 'A1' });
  });

  it('compares pasted images by their bytes: another picture named image.png is an edit, the same one renamed is not', () => {
    const withImage: TranscriptMessage[] = [
      { role: 'user', content: 'what is this?\n[image: image.png]', attachments: [{ name: 'image.png', mime: 'image/png', kind: 'image', sha256: 'a'.repeat(64), size: 10 }] },
      { role: 'assistant', content: 'a cat', upstreamId: 'A1' },
      { role: 'user', content: 'and this?\n[image: image.png]', attachments: [{ name: 'image.png', mime: 'image/png', kind: 'image', sha256: 'b'.repeat(64), size: 10 }] },
      { role: 'assistant', content: 'a dog', upstreamId: 'A2' },
    ];
    const pasted = (text: string, name: string, sha256: string): ChatMessage => ({
      role: 'user',
      content: `${text}\n[image: ${name}]`,
      attachments: [{ param: 'messages[0].content[1]', hint: 'image', name, source: { type: 'data-url', url: 'data:,' }, file: { name, mime: 'image/png', kind: 'image', bytes: Buffer.alloc(0), sha256 } }],
    });
    const other = pasted('and this?', 'image.png', 'c'.repeat(64));
    expect(planTurn(withImage, [pasted('what is this?', 'image.png', 'a'.repeat(64)), a('a cat'), other], true)).toEqual({ kind: 'branch', fresh: [other], keep: 2, parentId: 'A1' });
    const renamed = [pasted('what is this?', 'cat.png', 'a'.repeat(64)), a('a cat'), pasted('and this?', 'dog.png', 'b'.repeat(64)), a('a dog'), u('q3')];
    expect(planTurn(withImage, renamed, true)).toEqual({ kind: 'continue', fresh: [u('q3')] });
  });

  it('restarts when the protocol cannot branch or there is no shared assistant turn', () => {
    expect(planTurn(stored, [u('q1'), a('a1'), u('q2 edited')], false)).toEqual({ kind: 'restart', fresh: [u('q1'), a('a1'), u('q2 edited')] });
    expect(planTurn(stored, [u('other'), a('x'), u('y')], true).kind).toBe('restart');
  });
});
