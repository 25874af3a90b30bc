/**
 * Request shapes and response readers for the three wire formats the benchmark speaks:
 * Kimi's legacy REST + SSE, Kimi's Connect `ChatService/Chat`, and the OpenAI chat
 * completions API. The native shapes are the ones kimi-proxy itself sends upstream (same
 * bodies, same identity headers), so the emulator does the same work for every variant.
 */

export type Protocol = 'rest' | 'connect';

const USER_AGENT = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';

export const CONNECT_CHAT_PATH = '/apiv2/kimi.gateway.chat.v1.ChatService/Chat';
export const CONNECT_DELETE_PATH = '/apiv2/kimi.chat.v1.ChatService/DeleteChat';

/** The identity headers of a Kimi web client (what kimi-proxy sends for an account). */
export function nativeHeaders(protocol: Protocol, token: string, account: number, upstreamOrigin: string): Record<string, string> {
  const device = String(7_000_000_000_000_000_000n + BigInt(account) * 7_919n);
  const h: Record<string, string> = {
    authorization: `Bearer ${token}`,
    'x-msh-platform': 'web',
    'x-msh-device-id': device,
    'x-msh-session-id': String(1_700_000_000_000_000_000n + BigInt(account) * 104_729n),
    'x-traffic-id': `bench${String(account).padStart(15, '0')}`,
    'x-language': 'zh-CN',
    'r-timezone': 'Asia/Shanghai',
    origin: upstreamOrigin,
    referer: `${upstreamOrigin}/`,
    'user-agent': USER_AGENT,
    accept: '*/*',
  };
  if (protocol === 'connect') {
    h['connect-protocol-version'] = '1';
    h['x-msh-version'] = '2.2.0';
  }
  return h;
}

// ---------------------------------------------------------------- REST + SSE

export const REST_CREATE_CHAT_BODY = JSON.stringify({ name: '未命名会话', born_from: 'home', kimiplus_id: 'kimi', is_example: false, source: 'web', tags: [] });

export function restCompletionBody(text: string): string {
  return JSON.stringify({
    messages: [{ role: 'user', content: text }],
    history: [],
    kimiplus_id: 'kimi',
    model: 'k2',
    use_search: true,
    refs: [],
    extend: { sidebar: true },
    scene_labels: [],
    use_deep_research: false,
    use_semantic_memory: false,
  });
}

/** First answer delta of a REST stream. */
export const REST_MARK = Buffer.from('"event":"cmpl"');
/** The last record of a complete REST stream. */
export const REST_END = Buffer.from('{"event":"all_done"}\n\n');

export interface NativeReply {
  text: string;
  complete: boolean;
  chatId?: string | undefined;
  assistantMessageId?: string | undefined;
  error?: string | undefined;
}

export function readRestStream(body: Buffer): NativeReply {
  let text = '';
  let complete = false;
  let error: string | undefined;
  for (const record of body.toString('utf8').split(/\r?\n\r?\n/)) {
    if (!record.startsWith('data: ')) continue;
    const ev = JSON.parse(record.slice(6)) as { event?: string; text?: string };
    if (ev.event === 'cmpl' && typeof ev.text === 'string') text += ev.text;
    else if (ev.event === 'all_done') complete = true;
    else if (ev.event === 'error') error = 'error event';
  }
  return { text, complete, error };
}

// ---------------------------------------------------------------- Connect

export function envelope(flags: number, json: string): Buffer {
  const payload = Buffer.from(json, 'utf8');
  const out = Buffer.allocUnsafe(5 + payload.byteLength);
  out[0] = flags;
  out.writeUInt32BE(payload.byteLength, 1);
  payload.copy(out, 5);
  return out;
}

/** The ChatRequest kimi-proxy sends for model `k2` (catalog id in options.model). */
export function connectChatBody(text: string, chatId?: string, parentId?: string): Buffer {
  const message: Record<string, unknown> = { role: 'user', blocks: [{ message_id: '', text: { content: text } }], scenario: 'SCENARIO_CHAT' };
  if (parentId) message.parent_id = parentId;
  message.is_goal = false;
  const body: Record<string, unknown> = {
    scenario: 'SCENARIO_CHAT',
    tools: [{ type: 'TOOL_TYPE_SEARCH', search: {} }],
    message,
    options: { thinking: false, model: 'k2d6-chat', enable_plugin: true, reasoning_effort: 'REASONING_EFFORT_NONE' },
  };
  if (chatId) body.chat_id = chatId;
  body.project_id = '';
  return envelope(0, JSON.stringify(body));
}

/** First answer delta of a Connect stream (`block.text` set). */
export const CONNECT_MARK = Buffer.from('"mask":"block.text"');
/** The `{}` end-of-stream trailer of a complete Connect stream. */
export const CONNECT_END = Buffer.from([2, 0, 0, 0, 2, 0x7b, 0x7d]);

const CHAT_ID_RE = /"chat":\{"id":"([^"]+)"/;

/** The chat id announced by `chat.lastRequest` near the start of a Connect stream. */
export function connectChatIdFromHead(head: Buffer): string | undefined {
  return CHAT_ID_RE.exec(head.toString('latin1'))?.[1];
}

export function readConnectStream(body: Buffer): NativeReply {
  let text = '';
  let done = false;
  let trailerOk = false;
  let error: string | undefined;
  let chatId: string | undefined;
  let assistantMessageId: string | undefined;
  let off = 0;
  while (off + 5 <= body.byteLength) {
    const flags = body[off]!;
    const len = body.readUInt32BE(off + 1);
    const end = off + 5 + len;
    if (end > body.byteLength) return { text, complete: false, error: 'truncated frame' };
    const ev = JSON.parse(body.toString('utf8', off + 5, end)) as Record<string, any>;
    off = end;
    if (flags & 2) {
      trailerOk = ev.error === undefined;
      if (!trailerOk) error = `trailer error ${JSON.stringify(ev.error)}`;
      continue;
    }
    if (ev.error) error = `stream error ${JSON.stringify(ev.error)}`;
    if (ev.done !== undefined) done = true;
    if (ev.mask === 'chat.lastRequest') chatId = ev.chat?.id;
    if (ev.mask === 'message' && ev.message?.role === 'assistant') assistantMessageId = ev.message.id;
    if (ev.mask === 'block.text') text = String(ev.block?.text?.content ?? '');
    else if (ev.mask === 'block.text.content') text += String(ev.block?.text?.content ?? '');
  }
  if (off !== body.byteLength) error ??= 'trailing bytes';
  return { text, complete: done && trailerOk, chatId, assistantMessageId, error };
}

// ---------------------------------------------------------------- OpenAI

export interface OpenAIMessage {
  role: 'user' | 'assistant';
  content: string;
}

export function openaiBody(messages: OpenAIMessage[], stream: boolean, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model: 'k2', stream, messages, ...extra });
}

/** First content chunk of an OpenAI stream (the role chunk is `{"role":…`). */
export const OPENAI_MARK = Buffer.from('"delta":{"content":');
export const OPENAI_END = Buffer.from('data: [DONE]\n\n');

export function readOpenAIStream(body: Buffer): NativeReply {
  let text = '';
  let finish: string | undefined;
  let sawDone = false;
  let error: string | undefined;
  for (const record of body.toString('utf8').split('\n\n')) {
    if (record.startsWith(':') || record === '') continue;
    if (!record.startsWith('data: ')) return { text, complete: false, error: `unexpected record ${record.slice(0, 40)}` };
    const data = record.slice(6);
    if (data === '[DONE]') {
      sawDone = true;
      continue;
    }
    const chunk = JSON.parse(data) as { error?: unknown; choices?: Array<{ delta?: { content?: string }; finish_reason?: string | null }> };
    if (chunk.error) error = `in-stream error ${JSON.stringify(chunk.error)}`;
    const choice = chunk.choices?.[0];
    if (typeof choice?.delta?.content === 'string') text += choice.delta.content;
    if (choice?.finish_reason) finish = choice.finish_reason;
  }
  return { text, complete: sawDone && finish === 'stop', error };
}

export function readOpenAICompletion(body: Buffer): NativeReply {
  const json = JSON.parse(body.toString('utf8')) as { error?: unknown; choices?: Array<{ message?: { content?: string }; finish_reason?: string }> };
  if (json.error) return { text: '', complete: false, error: `error body ${JSON.stringify(json.error)}` };
  const choice = json.choices?.[0];
  return { text: choice?.message?.content ?? '', complete: choice?.finish_reason === 'stop' };
}

export function endsWith(tail: Buffer, suffix: Buffer): boolean {
  return tail.byteLength >= suffix.byteLength && tail.subarray(tail.byteLength - suffix.byteLength).equals(suffix);
}

// ---------------------------------------------------------------- front doors

/**
 * How the load generator speaks to one of kimi-proxy's front doors: where a stateless request
 * goes, its body, the marker of the first answer text, the stream's last bytes, and the
 * readers of a streamed and a whole reply. A door workload names one of these.
 */
export interface DoorWire {
  path: string;
  headers: (apiKey: string) => Record<string, string>;
  body: (prompt: string, stream: boolean, extra: Record<string, unknown>) => string;
  mark: Buffer;
  /** Whether a stream's last bytes (at most 64) are those of a complete answer. */
  ended: (tail: Buffer) => boolean;
  readStream: (body: Buffer) => NativeReply;
  readWhole: (body: Buffer) => NativeReply;
}

export const OPENAI_CHAT: DoorWire = {
  path: '/v1/chat/completions',
  headers: (apiKey) => ({ authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }),
  body: (prompt, stream, extra) => openaiBody([{ role: 'user', content: prompt }], stream, extra),
  mark: OPENAI_MARK,
  ended: (tail) => endsWith(tail, OPENAI_END),
  readStream: readOpenAIStream,
  readWhole: readOpenAICompletion,
};

/** The records of an SSE body that names its events (`event: x\ndata: {…}`), as parsed JSON. */
function namedEvents(body: Buffer): Array<Record<string, any>> {
  const out: Array<Record<string, any>> = [];
  for (const record of body.toString('utf8').split('\n\n')) {
    const data = record.split('\n').find((line) => line.startsWith('data: '));
    if (data) out.push(JSON.parse(data.slice(6)) as Record<string, any>);
  }
  return out;
}

const ANTHROPIC_END = Buffer.from('event: message_stop\ndata: {"type":"message_stop"}\n\n');

/** Anthropic Messages (`/v1/messages`), as the Anthropic SDK and Claude Code call it. */
export const ANTHROPIC_MESSAGES: DoorWire = {
  path: '/v1/messages',
  headers: (apiKey) => ({ 'x-api-key': apiKey, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }),
  body: (prompt, stream, extra) => JSON.stringify({ model: 'k2', max_tokens: 8192, stream, messages: [{ role: 'user', content: prompt }], ...extra }),
  mark: Buffer.from('"type":"text_delta"'),
  ended: (tail) => endsWith(tail, ANTHROPIC_END),
  readStream: (body) => {
    let text = '';
    let stop: string | undefined;
    let sawStop = false;
    let error: string | undefined;
    for (const ev of namedEvents(body)) {
      if (ev.type === 'content_block_delta' && ev.delta?.type === 'text_delta') text += String(ev.delta.text);
      else if (ev.type === 'message_delta') stop = ev.delta?.stop_reason;
      else if (ev.type === 'message_stop') sawStop = true;
      else if (ev.type === 'error') error = `error event ${JSON.stringify(ev.error)}`;
    }
    return { text, complete: sawStop && stop === 'end_turn', error };
  },
  readWhole: (body) => {
    const json = JSON.parse(body.toString('utf8')) as { type?: string; error?: unknown; stop_reason?: string; content?: Array<{ type: string; text?: string }> };
    if (json.type === 'error') return { text: '', complete: false, error: `error body ${JSON.stringify(json.error)}` };
    const text = (json.content ?? []).filter((b) => b.type === 'text').map((b) => b.text ?? '').join('');
    return { text, complete: json.stop_reason === 'end_turn' };
  },
};

/** `response.completed` carries the whole response; its tail is the usage object closing it. */
const RESPONSES_END = /"total_tokens":\d+\}\}\}\n\n$/;

/** The OpenAI Responses API (`/v1/responses`), as openai-node, the Agents SDK and Codex call it. */
export const OPENAI_RESPONSES: DoorWire = {
  path: '/v1/responses',
  headers: (apiKey) => ({ authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }),
  body: (prompt, stream, extra) => JSON.stringify({ model: 'k2', stream, input: prompt, ...extra }),
  mark: Buffer.from('"type":"response.output_text.delta"'),
  ended: (tail) => RESPONSES_END.test(tail.toString('latin1')) && !tail.includes('"status":"failed"'),
  readStream: (body) => {
    let text = '';
    let status: string | undefined;
    let error: string | undefined;
    for (const ev of namedEvents(body)) {
      if (ev.type === 'response.output_text.delta') text += String(ev.delta);
      else if (ev.type === 'response.completed' || ev.type === 'response.incomplete' || ev.type === 'response.failed') status = ev.response?.status;
      else if (ev.type === 'error') error = `error event ${JSON.stringify(ev)}`;
    }
    return { text, complete: status === 'completed', error };
  },
  readWhole: (body) => {
    const json = JSON.parse(body.toString('utf8')) as { error?: unknown; status?: string; output?: Array<{ type: string; content?: Array<{ type: string; text?: string }> }> };
    if (json.error) return { text: '', complete: false, error: `error body ${JSON.stringify(json.error)}` };
    const text = (json.output ?? [])
      .filter((item) => item.type === 'message')
      .flatMap((item) => item.content ?? [])
      .filter((part) => part.type === 'output_text')
      .map((part) => part.text ?? '')
      .join('');
    return { text, complete: json.status === 'completed' };
  },
};
