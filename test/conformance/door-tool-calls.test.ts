/**
 * Tool calls as the SDKs read them: the Anthropic and Responses renderers, fed a synthetic
 * ChatEvent stream with tool calls (what the tool pipeline hands over), served over loopback
 * to @anthropic-ai/sdk and openai-node. The SDKs' own stream accumulators must turn the frames
 * into tool_use blocks / function_call items with the exact arguments.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../src/core/chat-event.js';
import { renderAnthropicStream } from '../../src/doors/anthropic/stream.js';
import { ThinkingSigner } from '../../src/doors/anthropic/thinking-signature.js';
import { ResponseBuilder } from '../../src/doors/responses/builder.js';
import { renderResponse, renderResponsesStream } from '../../src/doors/responses/render.js';
import { initialResponse } from '../../src/doors/responses/response-object.js';

const CALLS: ChatEvent[] = [
  { type: 'reasoning-delta', text: 'I should look first.' },
  { type: 'text-delta', text: 'Let me check. ' },
  { type: 'tool-call', call: { id: 'call_a1', name: 'run_shell', arguments: '{"command":"ls -la","note":"引号 \\"x\\" 😀"}' } },
  { type: 'tool-call', call: { id: 'call_b2', name: 'read_file', arguments: '{"path":"src/a.ts"}' } },
  { type: 'finish', reason: 'tool_calls' },
];

async function* events(): AsyncGenerator<ChatEvent> {
  for (const e of CALLS) yield e;
}

async function send(res: ServerResponse, frames: AsyncIterable<string>): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for await (const f of frames) res.write(f);
  res.end();
}

describe('tool calls through the SDKs', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const body = JSON.parse(raw) as { model: string; stream?: boolean };
        const responses = () => new ResponseBuilder(initialResponse('resp_tools', Date.now(), { model: body.model, input: 'x' }), { stream: body.stream === true, promptTokens: 5, citations: 'list', freeformTools: new Set() });
        if (req.url?.startsWith('/v1/messages')) {
          const opts = { id: 'msg_tools', model: body.model, promptTokens: 5, citations: 'list' as const, signer: new ThinkingSigner(), omitThinking: false };
          void send(res, renderAnthropicStream(events(), opts));
        } else if (body.stream === true) {
          void send(res, renderResponsesStream(events(), responses(), {}));
        } else {
          void renderResponse(events(), responses(), {}).then((r) => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify(r));
          });
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

  it('@anthropic-ai/sdk messages.stream().finalMessage(): thinking, text, two tool_use blocks with parsed input, stop_reason tool_use', async () => {
    const sdk = new Anthropic({ baseURL: base, apiKey: 'k', maxRetries: 0 });
    const inputs: string[] = [];
    const stream = sdk.messages.stream({ model: 'claude-x', max_tokens: 1000, messages: [{ role: 'user', content: 'x' }] });
    stream.on('inputJson', (partial) => inputs.push(partial));
    const msg = await stream.finalMessage();
    expect(msg.stop_reason).toBe('tool_use');
    expect(msg.content.map((b) => b.type)).toEqual(['thinking', 'text', 'tool_use', 'tool_use']);
    expect(msg.content[2]).toEqual({ type: 'tool_use', id: 'call_a1', name: 'run_shell', input: { command: 'ls -la', note: '引号 "x" 😀' } });
    expect(msg.content[3]).toEqual({ type: 'tool_use', id: 'call_b2', name: 'read_file', input: { path: 'src/a.ts' } });
    expect(inputs).toEqual(['{"command":"ls -la","note":"引号 \\"x\\" 😀"}', '{"path":"src/a.ts"}']);
  });

  it('openai-node responses.stream().finalResponse() and responses.create(): function_call items with the exact arguments', async () => {
    const sdk = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'k', maxRetries: 0 });
    const args: string[] = [];
    const stream = sdk.responses.stream({ model: 'k2', input: 'x' });
    stream.on('response.function_call_arguments.done', (e) => args.push(e.arguments));
    const final = await stream.finalResponse();
    expect(final.output.map((o) => o.type)).toEqual(['reasoning', 'message', 'function_call', 'function_call']);
    expect(final.output[2]).toMatchObject({ type: 'function_call', call_id: 'call_a1', name: 'run_shell', arguments: '{"command":"ls -la","note":"引号 \\"x\\" 😀"}', status: 'completed' });
    expect(args).toEqual(['{"command":"ls -la","note":"引号 \\"x\\" 😀"}', '{"path":"src/a.ts"}']);
    expect(final.output_text).toBe('Let me check. ');
    const once = await sdk.responses.create({ model: 'k2', input: 'x' });
    expect(once.output.filter((o) => o.type === 'function_call').map((o) => (o as { call_id: string }).call_id)).toEqual(['call_a1', 'call_b2']);
  });
});
