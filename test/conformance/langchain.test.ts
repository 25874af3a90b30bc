/** LangChain's ChatOpenAI pointed at the proxy with configuration.baseURL. */
import { HumanMessage, SystemMessage, type AIMessageChunk } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { emuReply, numberedWords } from '../helpers/texts.js';

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
