/**
 * Byte-exact text through the whole path (client → proxy → Kimi → proxy → client): any echo,
 * lost or duplicated delta, or broken multi-byte character fails. The emulator splits the
 * answer into many deltas by code point (so emoji sequences are split across deltas) and,
 * with chunking=hostile, writes the body in 1–7-byte pieces (so UTF-8 characters and frames
 * are split across reads).
 */
import { describe, expect, it } from 'vitest';
import { openAIPerSuite } from '../helpers/openai-suite.js';
import { UNICODE_SAMPLES, emuReply, longAnswer } from '../helpers/texts.js';

// A small delay between deltas: deltas that arrive in the same read are merged into one
// chunk (nothing waits for that), so only deltas that arrive apart show up as separate chunks.
const CASES: Array<[string, string, Record<string, string | number | true>]> = [
  ['CJK', UNICODE_SAMPLES.cjk, { deltas: 17, delay: 2 }],
  ['emoji with ZWJ sequences, skin tones, flags and keycaps', UNICODE_SAMPLES.emoji, { deltas: 40, delay: 2 }],
  ['combining characters', UNICODE_SAMPLES.combining, { deltas: 23, delay: 2 }],
  ['mixed scripts, quotes, backslash, tab and newline', UNICODE_SAMPLES.mixed, { deltas: 9, delay: 2 }],
  ['emoji, hostile byte chunking', UNICODE_SAMPLES.emoji, { deltas: 11, delay: 2, chunking: 'hostile', seed: 7 }],
  ['CJK and combining, hostile byte chunking', UNICODE_SAMPLES.cjk + UNICODE_SAMPLES.combining, { deltas: 31, delay: 2, chunking: 'hostile', seed: 11 }],
];

describe.each(['connect', 'rest'] as const)('exact text over %s', (protocol) => {
  const the = openAIPerSuite({ env: { KIMI_PROTOCOL: protocol, MAX_BODY_BYTES: String(1024 * 1024) } });

  const streamed = async (content: string): Promise<{ text: string; deltas: number }> => {
    const stream = await the.sdk.chat.completions.create({ model: 'k2', stream: true, messages: [{ role: 'user', content }] });
    let text = '';
    let deltas = 0;
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta?.content;
      if (piece) {
        text += piece;
        deltas += 1;
      }
    }
    return { text, deltas };
  };

  it.each(CASES)('%s: streamed and not, exactly', async (_name, reply, directives) => {
    const content = `${emuReply(reply, directives)} please`;
    const s = await streamed(content);
    expect(s.text).toBe(reply);
    expect(s.deltas).toBeGreaterThan(1);
    const res = await the.sdk.chat.completions.create({ model: 'k2', messages: [{ role: 'user', content }] });
    expect(res.choices[0]!.message.content).toBe(reply);
  });

  it('a 2,000-word answer in 700 deltas arrives exactly, streamed and not', async () => {
    const reply = longAnswer(2_000);
    expect(reply.split(/\s+/).length).toBe(2_000);
    const content = emuReply(reply, { deltas: 700, delay: 1 });
    const s = await streamed(content);
    expect(s.text.length).toBe(reply.length);
    expect(s.text).toBe(reply);
    // Spread over ~700 ms, the answer must reach the client in many pieces, not one lump.
    expect(s.deltas).toBeGreaterThanOrEqual(50);
    const res = await the.sdk.chat.completions.create({ model: 'k2', messages: [{ role: 'user', content }] });
    expect(res.choices[0]!.message.content).toBe(reply);
  });

  it('keeps the reasoning text exact and apart from the answer', async () => {
    const think = `${UNICODE_SAMPLES.cjk} ${UNICODE_SAMPLES.emoji}`;
    const model = protocol === 'connect' ? 'k2-thinking' : 'k1.5-thinking';
    const content = emuReply(UNICODE_SAMPLES.combining, { think, chunking: 'hostile', seed: 3 });
    const stream = await the.sdk.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content }] });
    let reasoning = '';
    let text = '';
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined;
      reasoning += delta?.reasoning_content ?? '';
      text += delta?.content ?? '';
    }
    expect(reasoning).toBe(think);
    expect(text).toBe(UNICODE_SAMPLES.combining);
  });
});
