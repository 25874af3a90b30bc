/**
 * Responses request → the neutral chat input: input items become messages (function calls
 * on assistant turns, their outputs as tool results), tools become neutral specs (Codex's
 * namespaces offer their inner functions, `custom` tools take one string), `text.format`
 * becomes a ResponseFormat, `reasoning.effort` the Kimi effort, hosted web search Kimi's.
 */
import { attachmentMarker, type Attachment } from '../../attachments/attachment.js';
import { responsesAttachment } from '../../attachments/door-parts.js';
import type { ToolCall } from '../../core/chat-event.js';
import { ProxyError } from '../../core/errors.js';
import type { ResponseFormat, ToolChoice, ToolRequest, ToolSpec } from '../../core/tool-spec.js';
import type { ChatMessage } from '../../conversations/messages.js';
import type { ResolveOptions } from '../../models/model-table.js';
import type { InputItem, ResponsesRequest, ResponsesTool } from './request.js';

export interface ResponsesInput {
  /** `instructions` as a system message: it applies to this request only (never carried over). */
  instructions?: ChatMessage;
  /** The input items, in order. */
  messages: ChatMessage[];
  tools?: ToolRequest;
  responseFormat?: ResponseFormat;
  resolve: ResolveOptions;
  /** `custom` tools: their calls are rendered as `custom_tool_call` items with a string input. */
  freeformTools: ReadonlySet<string>;
}

const ROLES: Record<string, ChatMessage['role']> = { user: 'user', assistant: 'assistant', system: 'system', developer: 'system' };
/** The schema a `custom` (free-form) tool is offered with: one string. */
export const FREEFORM_PARAMETERS = { type: 'object', properties: { input: { type: 'string' } }, required: ['input'], additionalProperties: false };

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** A message's (or a tool output's) text and its attachments, each marked where it stood. */
function readParts(content: unknown, path: string, counter: { n: number }): Pick<ChatMessage, 'content' | 'attachments'> {
  if (content === null || content === undefined) return { content: '' };
  if (typeof content === 'string') return { content };
  if (!Array.isArray(content)) throw new ProxyError('invalid_request', `${path} must be a string or an array of content parts.`, { param: path });
  const texts: string[] = [];
  const attachments: Attachment[] = [];
  content.forEach((part: unknown, j) => {
    const p = (part ?? {}) as { type?: unknown; text?: unknown; refusal?: unknown };
    const type = str(p.type);
    if (type === 'input_text' || type === 'output_text' || type === 'text') texts.push(str(p.text));
    else if (type === 'refusal') texts.push(str(p.refusal));
    else {
      const a = responsesAttachment(part, `${path}[${j}]`, counter);
      if (a) {
        attachments.push(a);
        texts.push(attachmentMarker(a));
      }
    }
  });
  return attachments.length > 0 ? { content: texts.join('\n'), attachments } : { content: texts.join('\n') };
}

function messagesOf(input: ResponsesRequest['input']): ChatMessage[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  const out: ChatMessage[] = [];
  const names = new Map<string, string>();
  const counter = { n: 0 };
  const addCall = (call: ToolCall): void => {
    names.set(call.id, call.name);
    const last = out[out.length - 1];
    // Calls right after an assistant message (or after other calls) belong to that turn.
    if (last?.role === 'assistant') (last.toolCalls ??= []).push(call);
    else out.push({ role: 'assistant', content: '', toolCalls: [call] });
  };
  input.forEach((item: InputItem, i) => {
    const it = item as InputItem & Record<string, unknown>;
    const type = item.type ?? (item.role ? 'message' : '');
    const path = `input[${i}]`;
    switch (type) {
      case 'message': {
        const role = Object.hasOwn(ROLES, str(item.role)) ? ROLES[str(item.role)] : undefined;
        if (!role) throw new ProxyError('invalid_request', `${path}.role "${str(item.role).slice(0, 40)}" is not one of user, assistant, system, developer.`, { param: `${path}.role` });
        out.push({ role, ...readParts(it.content, `${path}.content`, counter) });
        break;
      }
      case 'function_call':
        addCall({ id: str(it.call_id), name: str(it.name), arguments: str(it.arguments) || '{}' });
        break;
      case 'custom_tool_call':
        addCall({ id: str(it.call_id), name: str(it.name), arguments: JSON.stringify({ input: str(it.input) }) });
        break;
      case 'function_call_output':
      case 'custom_tool_call_output': {
        const id = str(it.call_id);
        const result: ChatMessage = { role: 'tool', ...readParts(it.output, `${path}.output`, counter), toolCallId: id };
        const name = names.get(id);
        if (name) result.name = name;
        out.push(result);
        break;
      }
      case '':
        throw new ProxyError('invalid_request', `${path} has neither a type nor a role.`, { param: `${path}.type` });
      default:
        // reasoning (Kimi takes no earlier reasoning), item references, hosted tool calls: dropped.
        break;
    }
  });
  return out;
}

function functionSpec(t: { name?: unknown; description?: unknown; parameters?: unknown; strict?: unknown }): ToolSpec {
  const spec: ToolSpec = { name: str(t.name), parameters: (t.parameters as Record<string, unknown> | null | undefined) ?? { type: 'object' } };
  if (typeof t.description === 'string' && t.description) spec.description = t.description;
  if (t.strict === true) spec.strict = true;
  return spec;
}

function toolSpecs(tools: ResponsesTool[]): { specs: ToolSpec[]; freeform: Set<string>; webSearch: boolean } {
  const specs: ToolSpec[] = [];
  const freeform = new Set<string>();
  let webSearch = false;
  for (const t of tools) {
    if (t.type === 'function' && t.name) specs.push(functionSpec(t));
    else if (t.type === 'namespace') {
      // Codex groups sub-agent tools in a namespace; the model is offered the functions inside.
      for (const inner of t.tools ?? []) if ((inner.type ?? 'function') === 'function' && inner.name) specs.push(functionSpec(inner));
    } else if (t.type === 'custom' && t.name) {
      const spec: ToolSpec = { name: t.name, parameters: FREEFORM_PARAMETERS, freeform: true };
      if (t.description) spec.description = t.description;
      specs.push(spec);
      freeform.add(t.name);
    } else if (t.type.startsWith('web_search')) webSearch = true;
    // Other hosted tools (file search, computer use, MCP, …) have nothing to run them here.
  }
  return { specs, freeform, webSearch };
}

function choiceOf(choice: ResponsesRequest['tool_choice'], names: Set<string>): ToolChoice {
  if (!choice || choice === 'auto') return { kind: 'auto' };
  if (choice === 'none') return { kind: 'none' };
  if (choice === 'required') return { kind: 'required' };
  if (choice.type === 'function' || choice.type === 'custom') {
    const name = choice.name ?? '';
    if (!names.has(name)) throw new ProxyError('invalid_request', `tool_choice.name: "${name.slice(0, 80)}" is not one of the tools in this request.`, { param: 'tool_choice.name' });
    return { kind: 'function', name };
  }
  if (choice.type === 'allowed_tools' && (choice as { mode?: unknown }).mode === 'required') return { kind: 'required' };
  return { kind: 'auto' };
}

function formatOf(req: ResponsesRequest): ResponseFormat | undefined {
  const f = req.text?.format;
  if (!f || f.type === 'text') return undefined;
  if (f.type === 'json_object') return { kind: 'json_object' };
  if (!f.schema) throw new ProxyError('invalid_request', 'text.format.schema: a json_schema format needs a schema.', { param: 'text.format.schema' });
  const format: ResponseFormat = { kind: 'json_schema', name: f.name ?? 'response', schema: f.schema };
  if (typeof f.strict === 'boolean') format.strict = f.strict;
  return format;
}

export function responsesToNeutral(req: ResponsesRequest): ResponsesInput {
  const { specs, freeform, webSearch } = toolSpecs(req.tools ?? []);
  const resolve: ResolveOptions = {};
  if (req.reasoning?.effort) resolve.reasoningEffort = req.reasoning.effort;
  if (webSearch) resolve.webSearch = true;
  const out: ResponsesInput = { messages: messagesOf(req.input), resolve, freeformTools: freeform };
  if (req.instructions) out.instructions = { role: 'system', content: req.instructions };
  if (specs.length > 0) {
    out.tools = { tools: specs, choice: choiceOf(req.tool_choice, new Set(specs.map((s) => s.name))), parallel: req.parallel_tool_calls !== false };
  }
  const format = formatOf(req);
  if (format) out.responseFormat = format;
  return out;
}
