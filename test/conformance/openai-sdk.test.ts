/** The official openai SDK (v6) against the running proxy, the way applications use it. */
import OpenAI, {
  toFile,
  APIError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
} from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { emuReply, numberedWords } from '../helpers/texts.js';
import { ALLOWED_FILE_HOST, ALLOWED_FILE_HOST_ENV, dataUrl, fileServer, filesAnswer, FILES_DIRECTIVE, pdf, png, type FileServer } from '../helpers/files.js';

const client = (h: Harness, extra: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}): OpenAI =>
  new OpenAI({ baseURL: `${h.base}/v1`, apiKey: h.apiKey, maxRetries: 0, ...extra });

describe('openai SDK: completions', () => {
  let h: Harness;
  let sdk: OpenAI;
  beforeAll(async () => {
    h = await startHarness({ env: { KIMI_PROTOCOL: 'connect' } });
    sdk = client(h);
  });
  afterAll(async () => h.close());

  it('creates a non-streamed completion with the exact text, the requested model and usage', async () => {
    const res = await sdk.chat.completions.create({
      model: 'k2',
      messages: [
        { role: 'system', content: 'Answer briefly.' },
        { role: 'user', content: emuReply('Plain answer, nothing else.') },
      ],
    });
    expect(res.object).toBe('chat.completion');
    expect(res.model).toBe('k2');
    expect(res.choices).toHaveLength(1);
    expect(res.choices[0]!.message).toMatchObject({ role: 'assistant', content: 'Plain answer, nothing else.' });
    expect(res.choices[0]!.finish_reason).toBe('stop');
    expect(res.usage!.total_tokens).toBe(res.usage!.prompt_tokens + res.usage!.completion_tokens);
    expect(res.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('exposes the response headers and request id through withResponse()', async () => {
    const { data, response, request_id } = await sdk.chat.completions
      .create({ model: 'k2', messages: [{ role: 'user', content: emuReply('with headers') }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe('with headers');
    expect(response.status).toBe(200);
    expect(request_id).toMatch(/^req_/);
    expect(response.headers.get('x-request-id')).toBe(request_id);
  });

  it('streams every delta in order, one id per stream, and finishes with stop', async () => {
    const stream = await sdk.chat.completions.create({ model: 'k2', stream: true, messages: [{ role: 'user', content: '[[emu deltas=120]]' }] });
    let text = '';
    const ids = new Set<string>();
    const finishes: string[] = [];
    for await (const chunk of stream) {
      ids.add(chunk.id);
      expect(chunk.object).toBe('chat.completion.chunk');
      text += chunk.choices[0]?.delta?.content ?? '';
      const finish = chunk.choices[0]?.finish_reason;
      if (finish) finishes.push(finish);
    }
    expect(text).toBe(numberedWords(120));
    expect(ids.size).toBe(1);
    expect(finishes).toEqual(['stop']);
  });

  it('delivers usage in the last chunk when stream_options.include_usage is set', async () => {
    const stream = await sdk.chat.completions.create({
      model: 'k2',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: emuReply('count me', { deltas: 2 }) }],
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toBeTruthy();
    expect(last.usage!.completion_tokens).toBeGreaterThan(0);
    expect(last.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(last.usage!.total_tokens).toBe(last.usage!.prompt_tokens + last.usage!.completion_tokens);
    for (const c of chunks.slice(0, -1)) expect(c.usage).toBeNull();
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('count me');
  });

  it('aggregates a stream with the SDK helper (chat.completions.stream → finalChatCompletion)', async () => {
    const runner = sdk.chat.completions.stream({ model: 'k2', messages: [{ role: 'user', content: emuReply('helper aggregated text', { deltas: 5, delay: 20 }) }] });
    const deltas: string[] = [];
    runner.on('content', (delta) => deltas.push(delta));
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]!.message.content).toBe('helper aggregated text');
    expect(final.choices[0]!.finish_reason).toBe('stop');
    expect(deltas.join('')).toBe('helper aggregated text');
    expect(deltas.length).toBeGreaterThan(1);
  });

  it('aborting mid-stream cancels the upstream stream within 1 s', async () => {
    const before = h.emulator.stats().streamsCancelled;
    const stream = await sdk.chat.completions.create({ model: 'k2', stream: true, messages: [{ role: 'user', content: '[[emu deltas=400 delay=40]]' }] });
    let received = '';
    let aborted: unknown;
    try {
      for await (const chunk of stream) {
        received += chunk.choices[0]?.delta?.content ?? '';
        if (received.includes('w2')) stream.controller.abort();
      }
    } catch (err) {
      aborted = err;
    }
    // Depending on timing the SDK either ends the loop quietly or throws APIUserAbortError.
    if (aborted !== undefined) expect((aborted as Error).name).toMatch(/Abort/);
    expect(received.startsWith('w1 w2')).toBe(true);
    expect(received.length).toBeLessThan(numberedWords(400).length);
    await waitFor(() => h.emulator.stats().streamsCancelled > before, 1_000, 'upstream cancellation');
    await waitFor(() => h.emulator.stats().openStreams === 0, 1_000, 'no open upstream stream');
  });

  it('throws APIError with the proxy error when the upstream fails mid-stream, after the partial text', async () => {
    const stream = await sdk.chat.completions.create({ model: 'k2', stream: true, messages: [{ role: 'user', content: '[[emu deltas=10 fault=cut after=3]]' }] });
    let text = '';
    let caught: unknown;
    try {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(APIError);
    expect((caught as APIError).error).toMatchObject({ code: 'upstream_network_error', type: 'upstream_error' });
    expect(text).toBe('w1 w2 w3 ');
  });
});

describe('openai SDK: error classes per status', () => {
  // One emulator, a fresh proxy per case: a rate limit or failure cools the proxy's accounts down.
  let emulator: Emulator;
  let h: Harness | undefined;
  beforeAll(async () => {
    emulator = await startEmulator({ rotateRefreshTokens: false });
  });
  afterAll(async () => emulator.close());
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const proxy = async (env: Record<string, string> = {}): Promise<Harness> => {
    h = await startHarness({ env: { KIMI_PROTOCOL: 'connect', ...env }, sharedEmulator: emulator });
    return h;
  };
  const failure = async (p: Promise<unknown>): Promise<APIError> => {
    try {
      await p;
    } catch (err) {
      if (err instanceof APIError) return err;
      throw err;
    }
    throw new Error('expected the call to fail');
  };
  const ask = (sdk: OpenAI, content: string, extra: Record<string, unknown> = {}) =>
    sdk.chat.completions.create({ model: 'k2', messages: [{ role: 'user', content }], ...extra });

  it('400 → BadRequestError with the OpenAI error body', async () => {
    const err = await failure(ask(client(await proxy()), 'x', { n: 2 }));
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.status).toBe(400);
    expect(err.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request', param: 'n' });
    expect(err.requestID).toMatch(/^req_/);
  });

  it('401 → AuthenticationError, for chat and for listing models', async () => {
    const sdk = client(await proxy(), { apiKey: 'sk-wrong-key' });
    const err = await failure(ask(sdk, 'x'));
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
    expect(await failure(sdk.models.list())).toBeInstanceOf(AuthenticationError);
  });

  it('404 → NotFoundError for an unknown model, in streaming mode too', async () => {
    const sdk = client(await proxy());
    const err = await failure(sdk.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] }));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.error).toMatchObject({ code: 'model_not_found', param: 'model' });
    const streamed = await failure(sdk.chat.completions.create({ model: 'gpt-9', stream: true, messages: [{ role: 'user', content: 'x' }] }));
    expect(streamed).toBeInstanceOf(NotFoundError);
  });

  it('409 → ConflictError when the conversation is still streaming another reply', async () => {
    const p = await proxy({ CONVERSATION_WAIT_MS: '0' });
    // A conversation-scoped base URL makes this SDK client stateful.
    const sdk = new OpenAI({ baseURL: `${p.base}/conversations/busy-sdk/v1`, apiKey: p.apiKey, maxRetries: 0 });
    const slow = ask(sdk, '[[emu deltas=10 delay=80]]');
    await waitFor(() => emulator.stats().openStreams > 0, 2_000, 'first stream to open');
    const err = await failure(ask(sdk, 'second'));
    expect(err).toBeInstanceOf(ConflictError);
    expect(err.error).toMatchObject({ type: 'conflict_error', code: 'conversation_busy' });
    expect((await slow).choices[0]!.message.content).toBe(numberedWords(10));
  });

  it('429 → RateLimitError carrying Retry-After from Kimi', async () => {
    const err = await failure(ask(client(await proxy()), '[[emu fault=429 retry_after=7]]'));
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err.error).toMatchObject({ type: 'rate_limit_error', code: 'upstream_rate_limited' });
    expect(err.headers?.get('retry-after')).toBe('7');
    expect(err.headers?.get('retry-after-ms')).toBe('7000');
  });

  it.each([
    ['fault=503', 503, 'upstream_overloaded'],
    ['fault=500', 502, 'upstream_http_error'],
    ['fault=exception', 503, 'upstream_overloaded'],
  ])('5xx → InternalServerError (%s → %i)', async (directive, status, code) => {
    const err = await failure(ask(client(await proxy()), `[[emu ${directive}]]`));
    expect(err).toBeInstanceOf(InternalServerError);
    expect(err.status).toBe(status);
    expect(err.error).toMatchObject({ code });
  });
});

/** Streamed answer text of a chat completion stream. */
async function streamedText(stream: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  return text;
}

// The emulator's `files` directive names each file Kimi received with its size and SHA-256: equal answers prove equal bytes.
describe.each(['connect', 'rest'] as const)('openai SDK: images and documents over %s', (protocol) => {
  const seed = protocol === 'connect' ? 100 : 200;
  const photo = png(seed + 1);
  let files: FileServer;
  let h: Harness;
  let sdk: OpenAI;
  beforeAll(async () => {
    files = await fileServer(ALLOWED_FILE_HOST, { '/photos/cat.png': ['image/png', photo] });
    h = await startHarness({ env: { KIMI_PROTOCOL: protocol, ...ALLOWED_FILE_HOST_ENV } });
    sdk = client(h);
  });
  afterAll(async () => {
    await h.close();
    await files.close();
  });
  const ask = (content: OpenAI.ChatCompletionContentPart[]) => ({ model: 'k2', messages: [{ role: 'user' as const, content }] });

  it('an image_url data URL, non-streamed and streamed', async () => {
    const image = png(seed + 2);
    const once = await sdk.chat.completions.create(ask([{ type: 'text', text: `What is this? ${FILES_DIRECTIVE}` }, { type: 'image_url', image_url: { url: dataUrl('image/png', image), detail: 'high' } }]));
    expect(once.choices[0]!.message.content).toBe(filesAnswer(['image-1.png', 'image/png', image]));
    const streamedImage = png(seed + 3);
    const stream = await sdk.chat.completions.create({ ...ask([{ type: 'image_url', image_url: { url: dataUrl('image/png', streamedImage) } }, { type: 'text', text: FILES_DIRECTIVE }]), stream: true });
    expect(await streamedText(stream)).toBe(filesAnswer(['image-1.png', 'image/png', streamedImage]));
  });

  it('an image_url http URL on an allowed loopback server is fetched once and attached under its own name, streamed', async () => {
    const stream = await sdk.chat.completions.create({ ...ask([{ type: 'image_url', image_url: { url: `${files.url}/photos/cat.png`, detail: 'low' } }, { type: 'text', text: FILES_DIRECTIVE }]), stream: true });
    expect(await streamedText(stream)).toBe(filesAnswer(['cat.png', 'image/png', photo]));
    expect(files.hits).toEqual(['/photos/cat.png']);
  });

  it('a PDF as a file part with file_data and filename, non-streamed and streamed', async () => {
    const doc = pdf(`openai-node ${protocol}`);
    const once = await sdk.chat.completions.create(ask([{ type: 'file', file: { file_data: dataUrl('application/pdf', doc), filename: 'report.pdf' } }, { type: 'text', text: FILES_DIRECTIVE }]));
    expect(once.choices[0]!.message.content).toBe(filesAnswer(['report.pdf', 'application/pdf', doc]));
    const streamedDoc = pdf(`openai-node streamed ${protocol}`);
    const stream = await sdk.chat.completions.create({ ...ask([{ type: 'text', text: FILES_DIRECTIVE }, { type: 'file', file: { file_data: dataUrl('application/pdf', streamedDoc), filename: 'minutes.pdf' } }]), stream: true });
    expect(await streamedText(stream)).toBe(filesAnswer(['minutes.pdf', 'application/pdf', streamedDoc]));
  });

  it('a file_id from files.create, streamed, beside an image in the same message', async () => {
    const doc = pdf(`uploaded first over ${protocol}`);
    const image = png(seed + 4);
    const created = await sdk.files.create({ file: await toFile(doc, 'contract.pdf', { type: 'application/pdf' }), purpose: 'user_data' });
    const stream = await sdk.chat.completions.create({
      ...ask([{ type: 'text', text: FILES_DIRECTIVE }, { type: 'file', file: { file_id: created.id } }, { type: 'image_url', image_url: { url: dataUrl('image/png', image) } }]),
      stream: true,
    });
    expect(await streamedText(stream)).toBe(filesAnswer(['contract.pdf', 'application/pdf', doc], ['image-2.png', 'image/png', image]));
  });
});
