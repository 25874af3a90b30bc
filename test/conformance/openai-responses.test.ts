/**
 * The Responses door through openai-node's responses API against the emulator:
 * responses.create, responses.stream().finalResponse(), previous_response_id continuing the
 * same Kimi chat (the emulator's turn counter), stored responses, typed errors, exact text.
 */
import OpenAI, { NotFoundError, RateLimitError, toFile } from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { openAIPerSuite } from '../helpers/openai-suite.js';
import { UNICODE_SAMPLES, emuReply, longAnswer } from '../helpers/texts.js';
import { ALLOWED_FILE_HOST, ALLOWED_FILE_HOST_ENV, dataUrl, fileServer, filesAnswer, FILES_DIRECTIVE, pdf, png, type FileServer } from '../helpers/files.js';

describe.each(['connect', 'rest'] as const)('openai-node responses over %s', (protocol) => {
  const the = openAIPerSuite({ env: { KIMI_PROTOCOL: protocol } });

  it('responses.create answers one message item with output_text, usage and a stored id', async () => {
    const res = await the.sdk.responses.create({ model: 'k2', instructions: 'Be brief.', input: emuReply('Hello from Kimi.') });
    expect(res.id).toMatch(/^resp_/);
    expect(res.object).toBe('response');
    expect(res.status).toBe('completed');
    expect(res.model).toBe('k2');
    expect(res.instructions).toBe('Be brief.');
    expect(res.output_text).toBe('Hello from Kimi.');
    expect(res.output).toHaveLength(1);
    expect(res.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Hello from Kimi.' }] });
    expect(res.usage!.input_tokens).toBeGreaterThan(0);
    expect(res.usage!.total_tokens).toBe(res.usage!.input_tokens + res.usage!.output_tokens);
    const again = await the.sdk.responses.retrieve(res.id);
    expect(again).toMatchObject({ id: res.id, status: 'completed', output: res.output, usage: res.usage, instructions: 'Be brief.' });
  });

  it.each([
    ['CJK', UNICODE_SAMPLES.cjk, { deltas: 17, delay: 2 }],
    ['emoji, hostile byte chunking', UNICODE_SAMPLES.emoji, { deltas: 11, delay: 2, chunking: 'hostile', seed: 7 }],
    ['2,000 words in 700 deltas', longAnswer(2_000), { deltas: 700, delay: 1 }],
  ] as Array<[string, string, Record<string, string | number>]>)('responses.stream().finalResponse() keeps %s exact, streamed and not', async (_n, reply, directives) => {
    const input = `${emuReply(reply, directives)} please`;
    const stream = the.sdk.responses.stream({ model: 'k2', input });
    let streamed = '';
    let deltas = 0;
    const seqs: number[] = [];
    const types: string[] = [];
    stream.on('event', (e) => {
      seqs.push(e.sequence_number);
      types.push(e.type);
    });
    stream.on('response.output_text.delta', (e) => {
      streamed += e.delta;
      deltas += 1;
    });
    const final = await stream.finalResponse();
    expect(streamed).toBe(reply);
    expect(deltas).toBeGreaterThan(1);
    expect(final.output_text).toBe(reply);
    expect(final.status).toBe('completed');
    expect(seqs).toEqual(seqs.map((_, i) => i));
    expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
    const once = await the.sdk.responses.create({ model: 'k2', input });
    expect(once.output_text).toBe(reply);
  });

  it('previous_response_id continues the same Kimi chat, sending only the new input', async () => {
    const first = await the.sdk.responses.create({ model: 'k2', input: 'hi [[emu turn]]' });
    const chat = /chat=(\S+)/.exec(first.output_text)![1];
    expect(first.output_text).toBe(`turn=1 chat=${chat}`);
    const second = await the.sdk.responses.create({ model: 'k2', previous_response_id: first.id, input: 'more [[emu turn]]' });
    expect(second.output_text).toBe(`turn=2 chat=${chat}`);
    expect(second.previous_response_id).toBe(first.id);
    const third = await the.sdk.responses.stream({ model: 'k2', previous_response_id: second.id, input: [{ role: 'user', content: 'again [[emu turn]]' }] }).finalResponse();
    expect(third.output_text).toBe(`turn=3 chat=${chat}`);
  });

  it('stored responses: input items, delete, and nothing kept with store: false', async () => {
    const res = await the.sdk.responses.create({ model: 'k2', input: [{ role: 'user', content: emuReply('stored') }] });
    const items = await the.sdk.responses.inputItems.list(res.id);
    expect(items.data).toHaveLength(1);
    expect(items.data[0]).toMatchObject({ type: 'message', role: 'user', content: [{ type: 'input_text', text: emuReply('stored') }] });
    await the.sdk.responses.delete(res.id);
    await expect(the.sdk.responses.retrieve(res.id)).rejects.toBeInstanceOf(NotFoundError);
    const unstored = await the.sdk.responses.create({ model: 'k2', store: false, input: emuReply('not stored') });
    expect((unstored as { store?: boolean }).store).toBe(false);
    await expect(the.sdk.responses.retrieve(unstored.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(the.sdk.responses.create({ model: 'k2', previous_response_id: unstored.id, input: 'x' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('a thinking model streams a reasoning item (summary) before the message', async () => {
    const think = `${UNICODE_SAMPLES.cjk} ${UNICODE_SAMPLES.emoji}`;
    const model = protocol === 'connect' ? 'k2-thinking' : 'k1.5-thinking';
    const final = await the.sdk.responses.stream({ model, input: emuReply('The answer.', { think }) }).finalResponse();
    expect(final.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
    expect(final.output[0]).toMatchObject({ type: 'reasoning', summary: [{ type: 'summary_text', text: think }] });
    expect(final.output_text).toBe('The answer.');
    expect(final.usage!.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
  });
});

// The emulator's `files` directive names each file Kimi received with its size and SHA-256: equal answers prove equal bytes.
describe.each(['connect', 'rest'] as const)('openai-node responses with images and files over %s', (protocol) => {
  const seed = protocol === 'connect' ? 700 : 800;
  const photo = png(seed + 1);
  let files: FileServer;
  let h: Harness;
  let sdk: OpenAI;
  beforeAll(async () => {
    files = await fileServer(ALLOWED_FILE_HOST, { '/img/chart.png': ['image/png', photo] });
    h = await startHarness({ env: { KIMI_PROTOCOL: protocol, ...ALLOWED_FILE_HOST_ENV } });
    sdk = new OpenAI({ baseURL: `${h.base}/v1`, apiKey: h.apiKey, maxRetries: 0 });
  });
  afterAll(async () => {
    await h.close();
    await files.close();
  });

  it('responses.create: input_image (data URL and http URL) and input_file (file_data)', async () => {
    const image = png(seed + 2);
    const doc = pdf(`responses ${protocol}`);
    const response = await sdk.responses.create({
      model: 'k2',
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: FILES_DIRECTIVE },
            { type: 'input_image', image_url: dataUrl('image/png', image), detail: 'auto' },
            { type: 'input_image', image_url: `${files.url}/img/chart.png`, detail: 'low' },
            { type: 'input_file', file_data: dataUrl('application/pdf', doc), filename: 'brief.pdf' },
          ],
        },
      ],
    });
    expect(response.output_text).toBe(filesAnswer(['image-1.png', 'image/png', image], ['chart.png', 'image/png', photo], ['brief.pdf', 'application/pdf', doc]));
    expect(files.hits).toEqual(['/img/chart.png']);
  });

  it('responses.stream: input_file by file_id from files.create, and an input_image', async () => {
    const doc = pdf(`responses file_id ${protocol}`);
    const image = png(seed + 3);
    const created = await sdk.files.create({ file: await toFile(doc, 'quarterly.pdf', { type: 'application/pdf' }), purpose: 'user_data' });
    const final = await sdk.responses
      .stream({
        model: 'k2',
        input: [
          {
            role: 'user',
            content: [
              { type: 'input_file', file_id: created.id },
              { type: 'input_image', image_url: dataUrl('image/png', image), detail: 'auto' },
              { type: 'input_text', text: FILES_DIRECTIVE },
            ],
          },
        ],
      })
      .finalResponse();
    expect(final.output_text).toBe(filesAnswer(['quarterly.pdf', 'application/pdf', doc], ['image-2.png', 'image/png', image]));
  });
});

describe('openai-node responses errors', () => {
  let h: Harness;
  let sdk: OpenAI;
  beforeEach(async () => {
    h = await startHarness({ env: { KIMI_PROTOCOL: 'connect' } });
    sdk = new OpenAI({ baseURL: `${h.base}/v1`, apiKey: h.apiKey, maxRetries: 0 });
  });
  afterEach(async () => h.close());

  it('a failure before output is a typed HTTP error; after output, response.failed with the error', async () => {
    const types: string[] = [];
    const stream = sdk.responses.stream({ model: 'k2', input: `${emuReply('one two three four', { deltas: 4 })} [[emu fault=cut after=2]]` });
    stream.on('event', (e) => types.push(e.type));
    const final = await stream.finalResponse();
    expect(types.at(-1)).toBe('response.failed');
    expect(types).not.toContain('response.completed');
    expect(final.status).toBe('failed');
    expect(final.error).toMatchObject({ code: 'upstream_network_error' });
    expect(final.output[0]).toMatchObject({ type: 'message', status: 'incomplete' });
    // Both accounts cool down after this one: it comes last.
    await expect(sdk.responses.create({ model: 'k2', input: '[[emu fault=429 retry_after=none]] x' })).rejects.toBeInstanceOf(RateLimitError);
  });
});
