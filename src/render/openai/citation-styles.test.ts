/**
 * Citations from a real Connect reply (inline markers in the text, search results in a tool
 * block) through the decoder and both OpenAI renderers, per CITATIONS style: what the user
 * sees inline and after the answer, streamed and not.
 */
import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../core/chat-event.js';
import { collectOutcome, fromChunks } from '../../upstream/kimi/stream-util.js';
import { data, done, setText, setThink } from '../../upstream/kimi/__fixtures__/connect-frames.js';
import { decodeConnectChat } from '../../upstream/kimi/connect/decode.js';
import { baseOptions, collect, eventsFrom, streamedText } from '../__fixtures__/sse.js';
import { renderCompletion } from './completion.js';
import type { RenderOptions } from './render-options.js';
import { renderChatStream } from './stream.js';

const cite = (...refs: string[]) => `\ue3a0cite${refs.map((r) => `\ue3a3web_search:1#${r}`).join('')}\ue3a8`;
const result = (i: number) => ({ searchResult: { id: `r${i}`, base: { title: `Page ${i}`, url: `https://p${i}.example/`, siteName: 's' }, refIndex: `web_search:1#${i}` } });
const searchResults = data({ op: 'set', mask: 'block.tool.contents', block: { id: 't', tool: { contents: [result(0), result(1)] } } });

async function decoded(frames: Uint8Array[]): Promise<ChatEvent[]> {
  const r = await collectOutcome(decodeConnectChat(fromChunks(frames)));
  expect(r.error).toBeUndefined();
  return r.events;
}

/** The answer as the completion renders it and as a client assembles it from the stream; they must agree. */
async function shown(events: ChatEvent[], opts: Partial<RenderOptions>): Promise<{ content: string; reasoning: string }> {
  const completion = await renderCompletion(eventsFrom(events), baseOptions(opts));
  const streamed = streamedText(await collect(renderChatStream(eventsFrom(events), baseOptions(opts))));
  const message = completion.choices[0].message;
  expect(streamed).toEqual({ content: message.content, reasoning: message.reasoning_content ?? '' });
  return streamed;
}

const reply = () => decoded([searchResults, setText('a', `Kimi says${cite('0')} it twice${cite('0', '1')}.`), done()]);
const SOURCES_LIST = '\n\nSources:\n1. [Page 0](https://p0.example/)\n2. [Page 1](https://p1.example/)';
const FOOTNOTES = '\n\n[^1]: [Page 0](https://p0.example/)\n[^2]: [Page 1](https://p1.example/)';

describe('CITATIONS styles, from upstream markers to what the client sees', () => {
  it('list: [n] where the answer cites, and a numbered Sources list', async () => {
    expect((await shown(await reply(), { citations: 'list' })).content).toBe(`Kimi says[1] it twice[1][2].${SOURCES_LIST}`);
  });

  it('footnotes: every inline reference is a markdown footnote reference with its [^n]: definition', async () => {
    const { content } = await shown(await reply(), { citations: 'footnotes' });
    expect(content).toBe(`Kimi says[^1] it twice[^1][^2].${FOOTNOTES}`);
    const [body = '', ...definitions] = content.split('\n\n');
    expect(body).not.toMatch(/\[\d+\]/);
    for (const [, n] of body.matchAll(/\[\^(\d+)\]/g)) expect(definitions.join('\n')).toContain(`[^${n}]: [`);
  });

  it('none: neither markers nor sources', async () => {
    expect((await shown(await reply(), { citations: 'none' })).content).toBe('Kimi says it twice.');
  });

  it('a reference inside the thinking text is rendered there, in the reasoning or the think block', async () => {
    const events = await decoded([searchResults, setThink('k', `I read it${cite('1')}.`), setText('a', 'Done.'), done()]);
    expect(await shown(events, { citations: 'footnotes' })).toEqual({ content: `Done.${FOOTNOTES}`, reasoning: 'I read it[^2].' });
    expect((await shown(events, { citations: 'list', reasoning: 'think_tags' })).content).toBe(`<think>\nI read it[2].\n</think>\n\nDone.${SOURCES_LIST}`);
    expect((await shown(events, { citations: 'none', reasoning: 'think_tags' })).content).toBe('<think>\nI read it.\n</think>\n\nDone.');
  });

  it('a replaced block keeps its markers: the completion substitutes it, the stream appends what differs', async () => {
    const events = await decoded([searchResults, setText('a', `Old${cite('0')} text`), setText('a', `New${cite('1')} text`), done()]);
    const completion = await renderCompletion(eventsFrom(events), baseOptions({ citations: 'footnotes' }));
    expect(completion.choices[0].message.content).toBe(`New[^2] text${FOOTNOTES}`);
    const streamed = streamedText(await collect(renderChatStream(eventsFrom(events), baseOptions({ citations: 'footnotes' }))));
    expect(streamed.content).toBe(`Old[^1] textNew[^2] text${FOOTNOTES}`);
  });
});
