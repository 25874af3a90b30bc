/** LangChain's ChatOpenAI pointed at the proxy with configuration.baseURL. */
import { HumanMessage, SystemMessage, type AIMessageChunk } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { emuReply, numberedWords } from '../helpers/texts.js';
import { dataUrl, filesAnswer, FILES_DIRECTIVE, png } from '../helpers/files.js';

describe('LangChain ChatOpenAI', () => {
  let h: Harness;
  const chat = (extra: Partial<ConstructorParameters<typeof ChatOpenAI>[0]> = {}): ChatOpenAI =>
    new ChatOpenAI({ model: 'k2', apiKey: h.apiKey, configuration: { baseURL: `${h.base}/v1` }, maxRetries: 0, ...extra });
  beforeAll(async () => {
    h = await startHarness({ env: { KIMI_PROTOCOL: 'connect' } });
  });
  afterAll(async () => h.close());

  it('invoke returns an AIMessage with the exact text, finish reason and token usage', async () => {
    const msg = await chat().invoke([new SystemMessage('Be brief.'), new HumanMessage(emuReply('From LangChain, exactly.'))]);
    expect(msg.content).toBe('From LangChain, exactly.');
    expect(msg.response_metadata.finish_reason).toBe('stop');
    expect(msg.response_metadata.model_name ?? msg.response_metadata.model).toBe('k2');
    expect(msg.usage_metadata!.output_tokens).toBeGreaterThan(0);
    expect(msg.usage_metadata!.total_tokens).toBe(msg.usage_metadata!.input_tokens + msg.usage_metadata!.output_tokens);
  });

  it('stream yields chunks that concatenate to the exact text, with usage on the aggregate', async () => {
    const stream = await chat({ streamUsage: true }).stream([new HumanMessage('[[emu deltas=60]]')]);
    let aggregate: AIMessageChunk | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      aggregate = aggregate === undefined ? chunk : aggregate.concat(chunk);
    }
    expect(chunks).toBeGreaterThan(1);
    expect(aggregate!.content).toBe(numberedWords(60));
    expect(aggregate!.usage_metadata!.output_tokens).toBeGreaterThan(0);
    expect(aggregate!.response_metadata.finish_reason).toBe('stop');
  });

  it('batch answers several prompts independently', async () => {
    const answers = await chat().batch([[new HumanMessage(emuReply('first'))], [new HumanMessage(emuReply('second'))]]);
    expect(answers.map((a) => a.content)).toEqual(['first', 'second']);
  });

  it('invoke raises the proxy error for an unknown model', async () => {
    await expect(chat({ model: 'no-such-model' }).invoke('x')).rejects.toMatchObject({ status: 404 });
  });
});

// The emulator's `files` directive names each file Kimi received with its size and SHA-256: equal answers prove equal bytes.
describe.each(['connect', 'rest'] as const)('LangChain ChatOpenAI with an image over %s', (protocol) => {
  let h: Harness;
  const chat = (): ChatOpenAI => new ChatOpenAI({ model: 'k2', apiKey: h.apiKey, configuration: { baseURL: `${h.base}/v1` }, maxRetries: 0 });
  beforeAll(async () => {
    h = await startHarness({ env: { KIMI_PROTOCOL: protocol } });
  });
  afterAll(async () => h.close());

  it('invoke: a HumanMessage with an image_url content part', async () => {
    const image = png(protocol === 'connect' ? 401 : 402);
    const msg = await chat().invoke([
      new HumanMessage({ content: [{ type: 'text', text: `What is in this picture? ${FILES_DIRECTIVE}` }, { type: 'image_url', image_url: { url: dataUrl('image/png', image) } }] }),
    ]);
    expect(msg.content).toBe(filesAnswer(['image-1.png', 'image/png', image]));
  });

  it('stream: a HumanMessage with a standard base64 image block', async () => {
    const image = png(protocol === 'connect' ? 403 : 404);
    const stream = await chat().stream([new HumanMessage({ content: [{ type: 'image', source_type: 'base64', mime_type: 'image/png', data: image.toString('base64') }, { type: 'text', text: FILES_DIRECTIVE }] })]);
    let text = '';
    for await (const chunk of stream) text += typeof chunk.content === 'string' ? chunk.content : '';
    expect(text).toBe(filesAnswer(['image-1.png', 'image/png', image]));
  });
});
