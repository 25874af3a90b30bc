/** Decoding of the enveloped `ChatRequest` (spec B.3, B.4), accepting snake_case and lowerCamel. */
import { ENVELOPE_HEADER_BYTES, FLAG_DATA } from '../upstream/kimi/connect/envelope.js';
import { field, stringField } from './http-io.js';

export interface ChatRequestFields {
  /** Absent or empty = new chat. */
  chatId?: string;
  /** Absent or empty = continue from the chat's latest reply. */
  parentId?: string;
  /** `parent_id` equal to the chat id: the new message starts a new branch at the root. */
  parentIsRoot: boolean;
  text: string;
  /** Ids of the `file` blocks beside the text block (spec B.9 step 3). */
  fileIds: string[];
  scenario: string;
  thinking: boolean;
  search: boolean;
}

/** The JSON object in the request's first (data) envelope, or undefined when the body is not a valid envelope. */
export function decodeRequestEnvelope(body: Buffer): Record<string, unknown> | undefined {
  if (body.byteLength < ENVELOPE_HEADER_BYTES || body[0] !== FLAG_DATA) return undefined;
  const length = body.readUInt32BE(1);
  if (body.byteLength < ENVELOPE_HEADER_BYTES + length) return undefined;
  try {
    const value: unknown = JSON.parse(body.subarray(ENVELOPE_HEADER_BYTES, ENVELOPE_HEADER_BYTES + length).toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

export function parseChatRequest(body: Record<string, unknown>): ChatRequestFields {
  const message = field(body, 'message');
  const blocks = field(message, 'blocks');
  const texts: string[] = [];
  const fileIds: string[] = [];
  if (Array.isArray(blocks)) {
    for (const b of blocks) {
      const content = stringField(field(b, 'text'), 'content');
      if (content !== undefined) texts.push(content);
      const fileId = stringField(field(b, 'file'), 'id');
      if (fileId) fileIds.push(fileId);
    }
  }
  const tools = field(body, 'tools');
  const options = field(body, 'options');
  const out: ChatRequestFields = {
    text: texts.join('\n'),
    fileIds,
    scenario: stringField(message, 'scenario') ?? stringField(body, 'scenario') ?? 'SCENARIO_CHAT',
    thinking: field(options, 'thinking') === true,
    search: Array.isArray(tools) && tools.some((t) => field(t, 'type') === 'TOOL_TYPE_SEARCH'),
    parentIsRoot: false,
  };
  const chatId = nonEmpty(stringField(body, 'chat_id'));
  const parentId = nonEmpty(stringField(message, 'parent_id'));
  if (chatId) out.chatId = chatId;
  // [U2] shows a first message re-sent with parent_id equal to the chat id: that means "root".
  if (parentId && parentId === chatId) out.parentIsRoot = true;
  else if (parentId) out.parentId = parentId;
  return out;
}
