// A loopback stand-in for an OpenAI / Anthropic server that records what a client sends.
//
// Usage (Node >= 22.18): node recorder.ts --out captures.json [--port 0] [--status 404]
// (--status N answers every API request with that status, to see how a client reacts.)
// Prints `RECORDER http://127.0.0.1:<port>` on stdout when listening.
//
// It answers just enough of each wire format for an agent to run one tool loop: when the request
// offers a file-writing tool and carries no tool result yet, it answers with one call of that tool
// (writing recorded.txt); otherwise with the text "Done.". Every request is saved (method, path,
// headers with secrets masked, parsed body). The same port also acts as an HTTP proxy that refuses
// everything with 403 and records the target, so a client pointed at it through HTTP(S)_PROXY shows
// any traffic that would have left the machine.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';

const { values } = parseArgs({ options: { out: { type: 'string' }, port: { type: 'string', default: '0' }, status: { type: 'string' } } });
if (!values.out) throw new Error('--out is required');
type Json = any; // bodies are whatever a client sent

interface Entry {
  seq: number;
  at: string;
  method: string | undefined;
  url: string | undefined;
  headers?: Record<string, unknown>;
  body?: Json;
  egress?: boolean;
}

const out = values.out;
const records: Entry[] = [];
const SECRET_HEADERS = new Set(['authorization', 'x-api-key', 'cookie', 'proxy-authorization', 'api-key']);
const FILE_NAME = 'recorded.txt';
const FILE_TEXT = 'written by the recorder\n';

function mask(value: unknown): string {
  const s = String(value);
  return `${s.slice(0, 10)}…(${s.length} chars)`;
}

function save() {
  writeFileSync(out, JSON.stringify(records, null, 2) + '\n');
}

// zstd arrived in Node 22.15; the types this package type-checks with predate it.
const zstd = (zlib as unknown as { zstdDecompressSync?: (b: Buffer) => Buffer }).zstdDecompressSync;

function decode(buf: Buffer, encoding: string | undefined): Buffer | null {
  if (!encoding || encoding === 'identity') return buf;
  if (encoding === 'gzip') return zlib.gunzipSync(buf);
  if (encoding === 'deflate') return zlib.inflateSync(buf);
  if (encoding === 'br') return zlib.brotliDecompressSync(buf);
  if (encoding === 'zstd' && zstd) return zstd(buf);
  return null;
}

function record(req: IncomingMessage, raw: Buffer): Entry {
  const headers: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = SECRET_HEADERS.has(k) ? mask(v) : v;
  let body: Json;
  const plain = raw.length ? decode(raw, req.headers['content-encoding']) : null;
  if (plain === null && raw.length) body = { undecoded_base64: raw.toString('base64') };
  else if (plain && plain.length) {
    const text = plain.toString('utf8');
    try { body = JSON.parse(text); } catch { body = text; }
  }
  const entry: Entry = { seq: records.length, at: new Date().toISOString(), method: req.method, url: req.url, headers, body };
  records.push(entry);
  save();
  return entry;
}

/** The first file-writing tool offered, with arguments that write FILE_NAME; codex has only a shell. */
function pickWriteCall(tools: Json[] | undefined): { name: string; args: Record<string, unknown> } | null {
  for (const t of tools ?? []) {
    const name: string = t.name ?? t.function?.name;
    const schema = t.parameters ?? t.function?.parameters ?? t.input_schema ?? {};
    const props = Object.keys(schema.properties ?? {});
    if (/^(write_file|write|Write)$/.test(name ?? '')) {
      const pathKey = props.find((p) => /path/i.test(p)) ?? 'file_path';
      const contentKey = props.find((p) => /content/i.test(p)) ?? 'content';
      const path = /absolute/i.test(JSON.stringify(schema.properties?.[pathKey] ?? '')) ? `${process.env.RECORDER_WORKDIR ?? process.cwd()}/${FILE_NAME}` : FILE_NAME;
      return { name, args: { [pathKey]: path, [contentKey]: FILE_TEXT } };
    }
  }
  for (const t of tools ?? []) {
    const name: string = t.name ?? t.function?.name;
    if (name === 'exec_command') return { name, args: { cmd: `printf 'written by the recorder\\n' > ${FILE_NAME}` } };
    if (name === 'shell') return { name, args: { command: ['bash', '-lc', `printf 'written by the recorder\\n' > ${FILE_NAME}`] } };
  }
  return null;
}

const hasChatToolResult = (b: Json): boolean => (b.messages ?? []).some((m: Json) => m.role === 'tool');
const hasResponsesToolResult = (b: Json): boolean =>
  Array.isArray(b.input) && b.input.some((i: Json) => i.type === 'function_call_output' || i.type === 'custom_tool_call_output');
const hasAnthropicToolResult = (b: Json): boolean =>
  (b.messages ?? []).some((m: Json) => Array.isArray(m.content) && m.content.some((c: Json) => c.type === 'tool_result'));

function sse(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
}

function chat(body: Json, res: ServerResponse): void {
  const call = hasChatToolResult(body) ? null : pickWriteCall(body.tools);
  const base = { id: 'chatcmpl-rec', object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: body.model };
  const usage = { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 };
  const toolCall = call && { id: 'call_rec1', type: 'function', function: { name: call.name, arguments: JSON.stringify(call.args) } };
  if (!body.stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: call ? null : 'Done.', ...(call ? { tool_calls: [toolCall] } : {}) }, finish_reason: call ? 'tool_calls' : 'stop' }], usage }));
    return;
  }
  sse(res);
  const send = (choices: Json[], extra: Json = {}): boolean => res.write(`data: ${JSON.stringify({ ...base, choices, ...extra })}\n\n`);
  send([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
  if (call && toolCall) {
    send([{ index: 0, delta: { tool_calls: [{ index: 0, id: toolCall.id, type: 'function', function: { name: call.name, arguments: '' } }] }, finish_reason: null }]);
    send([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: toolCall.function.arguments } }] }, finish_reason: null }]);
  } else send([{ index: 0, delta: { content: 'Done.' }, finish_reason: null }]);
  send([{ index: 0, delta: {}, finish_reason: call ? 'tool_calls' : 'stop' }]);
  if (body.stream_options?.include_usage) send([], { usage });
  res.end('data: [DONE]\n\n');
}

function responses(body: Json, res: ServerResponse): void {
  const call = hasResponsesToolResult(body) ? null : pickWriteCall(body.tools);
  const item: Json = call
    ? { id: 'fc_rec1', type: 'function_call', status: 'completed', call_id: 'call_rec1', name: call.name, arguments: JSON.stringify(call.args) }
    : { id: 'msg_rec1', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Done.', annotations: [] }] };
  const usage = { input_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens: 2, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 12 };
  const response = (status: string, output: Json[]): Json => ({ id: 'resp_rec1', object: 'response', created_at: Math.floor(Date.now() / 1000), status, model: body.model, output, usage: status === 'completed' ? usage : null, error: null, incomplete_details: null, instructions: body.instructions ?? null, tools: body.tools ?? [], tool_choice: body.tool_choice ?? 'auto', parallel_tool_calls: body.parallel_tool_calls ?? true });
  if (!body.stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(response('completed', [item])));
    return;
  }
  sse(res);
  let seq = 0;
  const send = (type: string, payload: Json): boolean => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...payload })}\n\n`);
  send('response.created', { response: response('in_progress', []) });
  send('response.in_progress', { response: response('in_progress', []) });
  if (call) {
    send('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', arguments: '' } });
    send('response.function_call_arguments.delta', { item_id: item.id, output_index: 0, delta: item.arguments });
    send('response.function_call_arguments.done', { item_id: item.id, output_index: 0, arguments: item.arguments });
  } else {
    send('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } });
    send('response.content_part.added', { item_id: item.id, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
    send('response.output_text.delta', { item_id: item.id, output_index: 0, content_index: 0, delta: 'Done.' });
    send('response.output_text.done', { item_id: item.id, output_index: 0, content_index: 0, text: 'Done.' });
    send('response.content_part.done', { item_id: item.id, output_index: 0, content_index: 0, part: item.content[0] });
  }
  send('response.output_item.done', { output_index: 0, item });
  send('response.completed', { response: response('completed', [item]) });
  res.end();
}

function messages(body: Json, res: ServerResponse): void {
  const call = hasAnthropicToolResult(body) ? null : pickWriteCall(body.tools);
  const block = call ? { type: 'tool_use', id: 'toolu_rec1', name: call.name, input: call.args } : { type: 'text', text: 'Done.' };
  const usage = { input_tokens: 10, output_tokens: 2, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  const message = { id: 'msg_rec1', type: 'message', role: 'assistant', model: body.model, content: [block], stop_reason: call ? 'tool_use' : 'end_turn', stop_sequence: null, usage };
  if (!body.stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(message));
    return;
  }
  sse(res);
  const send = (type: string, payload: Json): boolean => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...payload })}\n\n`);
  send('message_start', { message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } });
  if (call) {
    send('content_block_start', { index: 0, content_block: { ...block, input: {} } });
    send('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: JSON.stringify(call.args) } });
  } else {
    send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Done.' } });
  }
  send('content_block_stop', { index: 0 });
  send('message_delta', { delta: { stop_reason: message.stop_reason, stop_sequence: null }, usage: { output_tokens: 2 } });
  send('message_stop', {});
  res.end();
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const entry = record(req, Buffer.concat(chunks));
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (/^https?:\/\//.test(req.url ?? '')) {
      entry.egress = true;
      save();
      res.writeHead(403).end('egress refused by the recorder');
    } else if (values.status) res.writeHead(Number(values.status), { 'content-type': 'application/json' }).end('{"error":{"message":"forced by the recorder"}}'); else if (req.method === 'POST' && path.endsWith('/chat/completions')) chat(entry.body ?? {}, res);
    else if (req.method === 'POST' && path.endsWith('/responses')) responses(entry.body ?? {}, res);
    else if (req.method === 'POST' && path.endsWith('/messages/count_tokens')) res.writeHead(200, { 'content-type': 'application/json' }).end('{"input_tokens":10}');
    else if (req.method === 'POST' && path.endsWith('/messages')) messages(entry.body ?? {}, res);
    else if (path.endsWith('/event_logging/batch')) res.writeHead(204).end();
    else if (req.method === 'GET' && path.endsWith('/models')) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: 'kimi-k2', object: 'model', created: 0, owned_by: 'recorder' }] }));
    else res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
  });
});
// HTTPS through the proxy arrives as CONNECT: record the target and refuse it.
server.on('connect', (req, socket) => {
  records.push({ seq: records.length, at: new Date().toISOString(), method: 'CONNECT', url: req.url, egress: true });
  save();
  socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
});
server.listen(Number(values.port), '127.0.0.1', () => {
  save();
  const addr = server.address();
  console.log(`RECORDER http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`);
});
const stop = (): void => void server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
