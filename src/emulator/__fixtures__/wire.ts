/** Test helpers: talk to an emulator over loopback and decode both wire formats independently of the proxy's decoders. */
import { request } from 'undici';
import { encodeJsonEnvelope } from '../../upstream/kimi/connect/envelope.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Sizes of the body pieces as the client read them. */
  reads: number[];
  /** Set when the body ended with a transport error (e.g. a cut connection). */
  error?: unknown;
}

export async function send(
  url: string,
  opts: { method?: 'GET' | 'POST' | 'PUT' | 'DELETE'; token?: string; body?: string | Uint8Array; contentType?: string; signal?: AbortSignal } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  if (opts.contentType) headers['content-type'] = opts.contentType;
  const res = await request(url, { method: opts.method ?? 'POST', headers, body: opts.body ?? null, signal: opts.signal ?? null });
  const parts: Buffer[] = [];
  const reads: number[] = [];
  let error: unknown;
  try {
    for await (const chunk of res.body) {
      parts.push(chunk as Buffer);
      reads.push((chunk as Buffer).byteLength);
    }
  } catch (err) {
    error = err;
  }
  const out: RawResponse = { status: res.statusCode, headers: res.headers, body: Buffer.concat(parts), reads };
  if (error !== undefined) out.error = error;
  return out;
}

export function json(res: RawResponse): Record<string, unknown> {
  return JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
}

/** SSE `data:` records of a legacy stream (LF or CRLF), each parsed as JSON. */
export function sseRecords(body: Buffer): Record<string, unknown>[] {
  return body
    .toString('utf8')
    .split(/\r?\n\r?\n/)
    .filter((r) => r.trim() !== '')
    .map((r) => {
      if (!r.startsWith('data: ')) throw new Error(`not a data record: ${JSON.stringify(r)}`);
      return JSON.parse(r.slice(6)) as Record<string, unknown>;
    });
}

export interface Frame {
  flags: number;
  json: Record<string, unknown>;
}

/** Connect envelopes; throws on a trailing partial envelope unless `allowPartial`. */
export function decodeFrames(body: Buffer, allowPartial = false): { frames: Frame[]; rest: number } {
  const frames: Frame[] = [];
  let at = 0;
  while (at + 5 <= body.byteLength) {
    const len = body.readUInt32BE(at + 1);
    if (at + 5 + len > body.byteLength) break;
    frames.push({ flags: body[at]!, json: JSON.parse(body.subarray(at + 5, at + 5 + len).toString('utf8')) as Record<string, unknown> });
    at += 5 + len;
  }
  const rest = body.byteLength - at;
  if (rest > 0 && !allowPartial) throw new Error(`partial envelope: ${rest} trailing bytes`);
  return { frames, rest };
}

export function connectChat(baseUrl: string, token: string, payload: unknown, path = 'kimi.gateway.chat.v1.ChatService/Chat'): Promise<RawResponse> {
  return send(`${baseUrl}/apiv2/${path}`, { token, body: encodeJsonEnvelope(payload), contentType: 'application/connect+json' });
}

export function unary(baseUrl: string, token: string, rpc: string, payload: unknown = {}): Promise<RawResponse> {
  return send(`${baseUrl}/apiv2/${rpc}`, { token, body: JSON.stringify(payload), contentType: 'application/json' });
}

/** A 2026-style ChatRequest in snake_case. */
export function chatRequest(text: string, extra: { chatId?: string; parentId?: string; thinking?: boolean; search?: boolean } = {}): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'user', blocks: [{ message_id: '', text: { content: text } }], scenario: 'SCENARIO_CHAT' };
  if (extra.parentId !== undefined) message.parent_id = extra.parentId;
  const body: Record<string, unknown> = {
    scenario: 'SCENARIO_CHAT',
    tools: extra.search ? [{ type: 'TOOL_TYPE_SEARCH', search: {} }] : [],
    message,
    options: { thinking: extra.thinking ?? false, model: 'k2d6-chat' },
  };
  if (extra.chatId !== undefined) body.chat_id = extra.chatId;
  return body;
}

export async function createRestChat(baseUrl: string, token: string): Promise<string> {
  const res = await send(`${baseUrl}/api/chat`, { token, body: JSON.stringify({ name: '未命名会话', kimiplus_id: 'kimi', is_example: false }), contentType: 'application/json' });
  return json(res).id as string;
}

export function restCompletion(baseUrl: string, token: string, chatId: string, text: string, extra: Record<string, unknown> = {}): Promise<RawResponse> {
  return send(`${baseUrl}/api/chat/${chatId}/completion/stream`, {
    token,
    contentType: 'application/json',
    body: JSON.stringify({ messages: [{ role: 'user', content: text }], kimiplus_id: 'kimi', model: 'k2', use_search: false, refs: [], ...extra }),
  });
}

/** Concatenated text of Connect `block.text` / `block.text.content` events. */
export function connectText(frames: Frame[], kind: 'text' | 'think' = 'text'): string {
  return frames
    .filter((f) => typeof f.json.mask === 'string' && (f.json.mask as string).startsWith(`block.${kind}`))
    .map((f) => ((f.json.block as Record<string, Record<string, string>>)[kind]!.content ?? ''))
    .join('');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
