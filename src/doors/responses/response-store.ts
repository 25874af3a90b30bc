/**
 * Stored responses (`store` not false): what GET /v1/responses/{id} and its input items
 * answer, and what `previous_response_id` continues from. A record keeps only its own step
 * (its new input messages and its output); a continuation rebuilds the history by walking the
 * chain back, so a long chain costs storage in proportion to its length, not its square.
 * Records are scoped to the API key and expire after RESPONSE_STORE_TTL_MS.
 */
import type { Clock } from '../../core/clock.js';
import type { ToolCall } from '../../core/chat-event.js';
import type { ChatMessage } from '../../conversations/messages.js';
import type { Store } from '../../store/store.js';
import type { Attachment } from '../../attachments/attachment.js';
import type { ResponseObject } from './response-object.js';

export interface ResponseRecord {
  response: ResponseObject;
  /** The request's input items as given (each with an id), for GET …/input_items. */
  inputItems: Array<Record<string, unknown>>;
  /** This step's input as neutral messages (without `instructions`, which are never carried over). */
  messages: ChatMessage[];
}

/** How far back a continuation walks; older steps are left out of a rebuilt history. */
const MAX_CHAIN = 256;

export class ResponseStore {
  constructor(
    private readonly store: Pick<Store, 'saveResponse' | 'getResponse' | 'deleteResponse'>,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  async save(owner: string, record: ResponseRecord): Promise<void> {
    const now = this.clock.now();
    const body = JSON.stringify({ ...record, messages: record.messages.map(withStoredFiles) });
    await this.store.saveResponse({ id: record.response.id, owner, body, createdAt: now, expiresAt: now + this.ttlMs });
  }

  async get(owner: string, id: string): Promise<ResponseRecord | undefined> {
    const stored = await this.store.getResponse(owner, id);
    if (!stored) return undefined;
    const record = JSON.parse(stored.body) as ResponseRecord;
    return { ...record, messages: record.messages.map(withLoadedFiles) };
  }

  delete(owner: string, id: string): Promise<boolean> {
    return this.store.deleteResponse(owner, id);
  }

  /** The conversation up to and including `record`'s output, oldest first. */
  async history(owner: string, record: ResponseRecord): Promise<ChatMessage[]> {
    const steps: ResponseRecord[] = [record];
    let prev = record.response.previous_response_id;
    while (prev && steps.length < MAX_CHAIN) {
      const r = await this.get(owner, prev);
      if (!r) break; // an expired or deleted step: the history starts after it
      steps.push(r);
      prev = r.response.previous_response_id;
    }
    return steps.reverse().flatMap((s) => [...s.messages, outputMessage(s.response)]);
  }
}

/**
 * A step's attachments keep their checked bytes (a continuation that starts a new Kimi chat
 * attaches them again) as base64: a Buffer would serialise as an array of numbers, four times
 * the file's size and seconds of blocked event loop for a photo.
 */
type StoredFileAttachment = Omit<Attachment, 'file'> & { file?: Omit<NonNullable<Attachment['file']>, 'bytes'> & { base64: string } };

function withStoredFiles(m: ChatMessage): ChatMessage {
  if (!m.attachments?.some((a) => a.file)) return m;
  const attachments: StoredFileAttachment[] = m.attachments.map(({ file, ...a }) => {
    if (!file) return a;
    const { bytes, ...meta } = file;
    return { ...a, file: { ...meta, base64: bytes.toString('base64') } };
  });
  return { ...m, attachments: attachments as unknown as Attachment[] };
}

function withLoadedFiles(m: ChatMessage): ChatMessage {
  if (!m.attachments) return m;
  const stored = m.attachments as unknown as StoredFileAttachment[];
  return {
    ...m,
    attachments: stored.map(({ file, ...a }) => {
      if (!file) return a;
      const { base64, ...meta } = file;
      return { ...a, file: { ...meta, bytes: Buffer.from(base64, 'base64') } };
    }),
  };
}

/** A response's output as the assistant turn of a history (text, function calls). */
export function outputMessage(response: ResponseObject): ChatMessage {
  const texts: string[] = [];
  const calls: ToolCall[] = [];
  for (const item of response.output) {
    if (item.type === 'message') texts.push(((item.content as Array<{ text?: string }> | undefined) ?? []).map((p) => p.text ?? '').join(''));
    else if (item.type === 'function_call') calls.push({ id: String(item.call_id), name: String(item.name), arguments: String(item.arguments) });
    else if (item.type === 'custom_tool_call') calls.push({ id: String(item.call_id), name: String(item.name), arguments: JSON.stringify({ input: item.input }) });
  }
  const message: ChatMessage = { role: 'assistant', content: texts.join('\n') };
  if (calls.length > 0) message.toolCalls = calls;
  return message;
}
