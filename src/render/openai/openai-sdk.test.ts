/**
 * Feeds the renderers' output to the official `openai` SDK through a real loopback server,
 * so that the framing is checked by the parser real clients use.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, { APIError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../core/chat-event.js';
import { ProxyError, toOpenAIError } from '../../core/errors.js';
import { estimateTokens } from '../../core/tokens.js';
import { baseOptions, eventsFrom } from '../__fixtures__/sse.js';
import { SseWriter } from '../sse-writer.js';
import { renderCompletion } from './completion.js';
import type { RenderOptions } from './render-options.js';
import { renderChatStream } from './stream.js';

interface Script {
  events: ChatEvent[];
  error?: unknown;
  opts?: Partial<RenderOptions>;
}

const servers: http.Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A tiny OpenAI-compatible endpoint that replays `script` through the renderers. */
async function clientFor(script: Script): Promise<OpenAI> {
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      void (async () => {
        const body = JSON.parse(raw) as { stream?: boolean; stream_options?: { include_usage?: boolean } };
        const opts = baseOptions({
          includeUsage: body.stream_options?.include_usage === true,
          requestId: 'req_test',
          ...script.opts,
        });
        const events = eventsFrom(script.events, script.error);
        if (body.stream === true) {
          const writer = new SseWriter(res, { keepAliveMs: 10_000, headers: { 'x-request-id': 'req_test' } });
          writer.open();
          await writer.pipe(renderChatStream(events, opts));
          writer.end();
          return;
        }
        try {
          const completion = await renderCompletion(events, opts);
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(completion));
        } catch (err) {
          const { status, body: errorBody } = toOpenAIError(err, 'req_test');
          res.writeHead(status, { 'content-type': 'application/json', 'x-should-retry': 'false' });
          res.end(JSON.stringify(errorBody));
        }
      })();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'x', maxRetries: 0 });
}

const answerParts = ['Hello', ', ', 'wörld ', '😀', ' 你好', '\n\n"quoted" \\ back\u2028slash'];

const script: Script = {
  events: [
    { type: 'meta', chatId: 'chat-1' },
    { type: 'reasoning-delta', text: 'Thinking ' },
    { type: 'reasoning-delta', text: 'hard.' },
    { type: 'search', queries: ['x'] },
    ...answerParts.map((text): ChatEvent => ({ type: 'text-delta', text })),
    { type: 'citation', citation: { index: 1, url: 'https://a.example/p', title: 'A (site)' } },
    { type: 'finish', reason: 'stop' },
  ],
};

describe('openai SDK compatibility', () => {
  it('reassembles the exact streamed text, reasoning and finish reason', async () => {
    const client = await clientFor(script);
    const stream = await client.chat.completions.create({
      model: 'kimi-k2',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let content = '';
    let reasoning = '';
    const finishReasons: Array<string | null> = [];
    const ids = new Set<string>();
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      ids.add(chunk.id);
      expect(chunk.object).toBe('chat.completion.chunk');
      expect(chunk.model).toBe('kimi-k2');
      expect(chunk.choices).toHaveLength(1);
      const choice = chunk.choices[0];
      content += choice?.delta.content ?? '';
      reasoning += (choice?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? '';
      finishReasons.push(choice?.finish_reason ?? null);
    }
    expect(ids).toEqual(new Set(['chatcmpl-test123']));
    expect(reasoning).toBe('Thinking hard.');
    expect(content).toBe(`${answerParts.join('')}\n\nSources:\n1. [A \\(site\\)](https://a.example/p)`);
    expect(finishReasons.at(-1)).toBe('stop');
    expect(finishReasons.slice(0, -1).every((reason) => reason === null)).toBe(true);
    expect(chunks).toBe(1 + 2 + answerParts.length + 1 + 1);
  });

  it('delivers the usage chunk when include_usage is set', async () => {
    const client = await clientFor({ ...script, opts: { citations: 'none', promptTokens: 9 } });
    const stream = await client.chat.completions.create({
      model: 'kimi-k2',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    const reasoningTokens = estimateTokens('Thinking hard.');
    const completion = estimateTokens(answerParts.join('')) + reasoningTokens;
    expect(last?.usage).toEqual({
      prompt_tokens: 9,
      completion_tokens: completion,
      total_tokens: 9 + completion,
      completion_tokens_details: { reasoning_tokens: reasoningTokens },
    });
    for (const chunk of chunks.slice(0, -1)) expect(chunk.usage).toBeNull();
  });

  it('raises APIError on an in-stream error frame, after the partial text', async () => {
    const client = await clientFor({
      events: [{ type: 'text-delta', text: 'partial answer' }],
      error: new ProxyError('upstream_generation_error', 'Kimi stopped generating.'),
    });
    const stream = await client.chat.completions.create({
      model: 'kimi-k2',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let content = '';
    const finishReasons: Array<string | null> = [];
    let caught: unknown;
    try {
      for await (const chunk of stream) {
        content += chunk.choices[0]?.delta.content ?? '';
        finishReasons.push(chunk.choices[0]?.finish_reason ?? null);
      }
    } catch (err) {
      caught = err;
    }
    expect(content).toBe('partial answer');
    expect(finishReasons.every((reason) => reason === null)).toBe(true);
    expect(caught).toBeInstanceOf(APIError);
    const apiError = caught as APIError;
    expect(apiError.message).toContain('Kimi stopped generating.');
    expect(apiError.code).toBe('upstream_generation_error');
    expect(apiError.type).toBe('upstream_error');
  });

  it('raises APIError when the upstream ends without finish', async () => {
    const client = await clientFor({ events: [{ type: 'text-delta', text: 'cut off' }] });
    const stream = await client.chat.completions.create({
      model: 'kimi-k2',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    await expect(
      (async () => {
        for await (const _chunk of stream) {
          // drain
        }
      })(),
    ).rejects.toMatchObject({ code: 'upstream_protocol_error' });
  });

  it('parses the aggregated completion', async () => {
    const client = await clientFor(script);
    const completion = await client.chat.completions.create({
      model: 'kimi-k2',
      messages: [{ role: 'user', content: 'hi' }],
    });
    const message = completion.choices[0]?.message;
    expect(message?.content).toBe(`${answerParts.join('')}\n\nSources:\n1. [A \\(site\\)](https://a.example/p)`);
    expect((message as { reasoning_content?: string } | undefined)?.reasoning_content).toBe('Thinking hard.');
    expect(message?.annotations?.[0]?.url_citation.url).toBe('https://a.example/p');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage?.total_tokens).toBe((completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0));
  });
});
