/**
 * The Anthropic Messages door through @anthropic-ai/sdk against the emulator: what Claude Code
 * and SDK users rely on (create, stream().finalMessage(), countTokens, thinking blocks, typed
 * errors with the right status, exact text).
 */
import Anthropic, { APIError } from '@anthropic-ai/sdk';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { UNICODE_SAMPLES, emuReply, longAnswer } from '../helpers/texts.js';
import { ALLOWED_FILE_HOST, ALLOWED_FILE_HOST_ENV, fileServer, filesAnswer, FILES_DIRECTIVE, pdf, png, type FileServer } from '../helpers/files.js';

describe.each(['connect', 'rest'] as const)('@anthropic-ai/sdk over %s', (protocol) => {
  let h: Harness;
  let sdk: Anthropic;
  beforeAll(async () => {
    h = await startHarness({ env: { KIMI_PROTOCOL: protocol } });
    // Claude Code's base URL has no /v1.
    sdk = new Anthropic({ baseURL: h.base, apiKey: h.apiKey, maxRetries: 0 });
  });
  afterAll(async () => h.close());

  it('messages.create answers with one text block, end_turn and usage, under a claude-… name', async () => {
    const msg = await sdk.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 1024,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: emuReply('Hello from Kimi.') }],
    });
    expect(msg.type).toBe('message');
    expect(msg.role).toBe('assistant');
    expect(msg.model).toBe('claude-sonnet-4-5');
    expect(msg.id).toMatch(/^msg_/);
    expect(msg.content).toEqual([{ type: 'text', text: 'Hello from Kimi.' }]);
    expect(msg.stop_reason).toBe('end_turn');
    expect(msg.usage.input_tokens).toBeGreaterThan(0);
    expect(msg.usage.output_tokens).toBeGreaterThan(0);
  });

  it.each([
    ['CJK', UNICODE_SAMPLES.cjk, { deltas: 17, delay: 2 }],
    ['emoji, hostile byte chunking', UNICODE_SAMPLES.emoji, { deltas: 11, delay: 2, chunking: 'hostile', seed: 7 }],
    ['2,000 words in 700 deltas', longAnswer(2_000), { deltas: 700, delay: 1 }],
  ] as Array<[string, string, Record<string, string | number>]>)('messages.stream().finalMessage() keeps %s exact, streamed and not', async (_n, reply, directives) => {
    const content = `${emuReply(reply, directives)} please`;
    const stream = sdk.messages.stream({ model: 'k2', max_tokens: 32000, messages: [{ role: 'user', content }] });
    let deltas = 0;
    let streamed = '';
    stream.on('text', (t) => {
      deltas += 1;
      streamed += t;
    });
    const final = await stream.finalMessage();
    expect(streamed).toBe(reply);
    expect(deltas).toBeGreaterThan(1);
    expect(final.content).toEqual([{ type: 'text', text: reply }]);
    expect(final.stop_reason).toBe('end_turn');
    const once = await sdk.messages.create({ model: 'k2', max_tokens: 8000, messages: [{ role: 'user', content }] });
    expect(once.content).toEqual([{ type: 'text', text: reply }]);
  });

  it('a thinking request gets a signed thinking block before the text, streamed and not', async () => {
    const think = `${UNICODE_SAMPLES.cjk} ${UNICODE_SAMPLES.emoji}`;
    const content = emuReply('The answer.', { think });
    const params = {
      // REST's k2 has no thinking mode; k1.5 has.
      model: protocol === 'connect' ? 'claude-opus-4-1' : 'k1.5',
      max_tokens: 4000,
      thinking: { type: 'enabled' as const, budget_tokens: 10_000 },
      messages: [{ role: 'user' as const, content }],
    };
    const final = await sdk.messages.stream(params).finalMessage();
    expect(final.content.map((b) => b.type)).toEqual(['thinking', 'text']);
    const block = final.content[0] as Anthropic.ThinkingBlock;
    expect(block.thinking).toBe(think);
    expect(block.signature.length).toBeGreaterThan(20);
    expect(final.content[1]).toEqual({ type: 'text', text: 'The answer.' });
    const once = await sdk.messages.create(params);
    expect(once.content[0]).toEqual({ type: 'thinking', thinking: think, signature: block.signature });

    // The block comes back in the history: accepted and dropped, the conversation goes on.
    const next = await sdk.messages.create({
      model: params.model,
      max_tokens: 100,
      messages: [{ role: 'user', content }, { role: 'assistant', content: final.content }, { role: 'user', content: emuReply('Again.') }],
    });
    expect(next.content.at(-1)).toEqual({ type: 'text', text: 'Again.' });
  });

  it('countTokens estimates the prompt, more for a longer one', async () => {
    const short = await sdk.messages.countTokens({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] });
    const long = await sdk.messages.countTokens({ model: 'claude-sonnet-4-5', system: 'x '.repeat(500), messages: [{ role: 'user', content: 'hi '.repeat(200) }] });
    expect(short.input_tokens).toBeGreaterThan(0);
    expect(long.input_tokens).toBeGreaterThan(short.input_tokens + 500);
  });
});

// The emulator's `files` directive names each file Kimi received with its size and SHA-256: equal answers prove equal bytes.
describe.each(['connect', 'rest'] as const)('@anthropic-ai/sdk image and document blocks over %s', (protocol) => {
  const seed = protocol === 'connect' ? 500 : 600;
  const photo = png(seed + 1);
  let files: FileServer;
  let h: Harness;
  let sdk: Anthropic;
  beforeAll(async () => {
    files = await fileServer(ALLOWED_FILE_HOST, { '/shots/board.png': ['image/png', photo] });
    h = await startHarness({ env: { KIMI_PROTOCOL: protocol, ...ALLOWED_FILE_HOST_ENV } });
    sdk = new Anthropic({ baseURL: h.base, apiKey: h.apiKey, maxRetries: 0 });
  });
  afterAll(async () => {
    await h.close();
    await files.close();
  });
  const textOf = (m: Anthropic.Message): string => m.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
  // Room for the emulator's whole answer: max_tokens cuts replies.
  const MAX_TOKENS = 2000;

  it('messages.create: image blocks with base64 and url sources, document blocks with base64 PDF and text sources', async () => {
    const image = png(seed + 2);
    const doc = pdf(`anthropic ${protocol}`);
    const message = await sdk.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: MAX_TOKENS,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: image.toString('base64') } },
            { type: 'image', source: { type: 'url', url: `${files.url}/shots/board.png` } },
            { type: 'document', title: 'spec.pdf', source: { type: 'base64', media_type: 'application/pdf', data: doc.toString('base64') } },
            { type: 'document', title: 'notes.txt', source: { type: 'text', media_type: 'text/plain', data: `plain notes ${protocol}` } },
            { type: 'text', text: FILES_DIRECTIVE },
          ],
        },
      ],
    });
    expect(textOf(message)).toBe(
      filesAnswer(['image-1.png', 'image/png', image], ['board.png', 'image/png', photo], ['spec.pdf', 'application/pdf', doc], ['notes.txt', 'text/plain', Buffer.from(`plain notes ${protocol}`)]),
    );
    expect(files.hits).toEqual(['/shots/board.png']);
  });

  it('messages.stream: an image inside a tool_result (a Read tool returning a screenshot) beside a PDF document', async () => {
    const screenshot = png(seed + 3);
    const doc = pdf(`tool result ${protocol}`);
    const final = await sdk.messages
      .stream({
        model: 'claude-sonnet-4-5',
        max_tokens: MAX_TOKENS,
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Look at the screen.' }] },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'Read', input: { path: 'shot.png' } }] },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: screenshot.toString('base64') } }] },
              { type: 'document', title: 'log.pdf', source: { type: 'base64', media_type: 'application/pdf', data: doc.toString('base64') } },
              { type: 'text', text: FILES_DIRECTIVE },
            ],
          },
        ],
      })
      .finalMessage();
    expect(textOf(final)).toBe(filesAnswer(['image-1.png', 'image/png', screenshot], ['log.pdf', 'application/pdf', doc]));
  });
});

// Faults cool accounts down: a harness of their own, so they cannot slow the tests above.
describe.each(['connect', 'rest'] as const)('@anthropic-ai/sdk errors over %s', (protocol) => {
  let h: Harness;
  let sdk: Anthropic;
  beforeEach(async () => {
    h = await startHarness({ env: { KIMI_PROTOCOL: protocol } });
    sdk = new Anthropic({ baseURL: h.base, apiKey: h.apiKey, maxRetries: 0 });
  });
  afterEach(async () => h.close());

  it('errors arrive as the SDK typed errors with the right status and Anthropic body', async () => {
    const bad = new Anthropic({ baseURL: h.base, apiKey: 'sk-wrong-key-000000', maxRetries: 0 });
    const auth = await bad.messages.create({ model: 'k2', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(auth).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((auth as APIError).status).toBe(401);
    expect((auth as APIError).error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });

    const model = await sdk.messages.create({ model: 'no-such-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(model).toBeInstanceOf(Anthropic.NotFoundError);
    expect((model as APIError).error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });

    const image = await sdk.messages
      .create({ model: 'k2', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } }] }] })
      .catch((e: unknown) => e);
    expect(image).toBeInstanceOf(Anthropic.BadRequestError);
    expect((image as APIError).message).toContain('messages[0].content[0]');

    const limited = await sdk.messages.create({ model: 'k2', max_tokens: 10, messages: [{ role: 'user', content: '[[emu fault=429 retry_after=none]] x' }] }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect((limited as APIError).error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
  });

  it('an upstream failure after the first delta ends the stream with an error event the SDK raises', async () => {
    const stream = sdk.messages.stream({ model: 'k2', max_tokens: 100, messages: [{ role: 'user', content: `${emuReply('one two three four', { deltas: 4 })} [[emu fault=cut after=2]]` }] });
    let text = '';
    stream.on('text', (t) => (text += t));
    const err = await stream.finalMessage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect(String((err as Error).message)).toMatch(/api_error|upstream|connection/i);
    expect(text.length).toBeGreaterThan(0);
  });
});
