/**
 * Anthropic Messages request → the neutral chat input: messages (with tool calls and tool
 * results), the offered tools, and the thinking / effort / search switches.
 */
import { attachmentMarker, type Attachment } from '../../attachments/attachment.js';
import { anthropicAttachment } from '../../attachments/door-parts.js';
import type { ToolCall } from '../../core/chat-event.js';
import { ProxyError } from '../../core/errors.js';
import type { ToolChoice, ToolRequest, ToolSpec } from '../../core/tool-spec.js';
import type { ChatMessage } from '../../conversations/messages.js';
import type { ResolveOptions } from '../../models/model-table.js';
import type { AnthropicBlock, MessagesRequest } from './request.js';
import type { ThinkingSigner } from './thinking-signature.js';

/** Tells the model a tool result is a failure report, since the neutral message has no flag for it. */
export const TOOL_ERROR_PREFIX = 'The tool reported an error:\n';

export interface AnthropicInput {
  messages: ChatMessage[];
  tools?: ToolRequest;
  resolve: ResolveOptions;
  /**
   * Thinking blocks are sent without their text, as Anthropic does for `thinking.display`
   * `omitted`, and for `updates` (only short progress notes between tool calls carry text there;
   * Kimi's thinking is all reasoning, so its blocks stay empty). `summarized`, the default, and
   * unknown values show the text.
   */
  omitThinking: boolean;
  /** Returned thinking blocks (dropped either way): signed by this app, or by someone else. */
  returnedThinking: { ours: number; foreign: number };
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function unsupported(path: string, type: string): ProxyError {
  return new ProxyError(
    'unsupported_content',
    `${path}: "${type}" blocks cannot be forwarded to Kimi by this proxy yet; send the content as text.`,
    { param: `${path}.type` },
  );
}

/** Text of a `system` field or a text-block list; cache_control and other block fields are ignored. */
function textOf(content: string | AnthropicBlock[] | null | undefined, path: string): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  const texts: string[] = [];
  content.forEach((b, i) => {
    if (b.type === 'text') texts.push(str(b.text));
    else if (b.type === 'image' || b.type === 'document') throw unsupported(`${path}[${i}]`, b.type);
  });
  return texts.join('\n');
}

/** A tool result's text and its images or documents (Claude Code's Read tool returns images), each marked where it stood. */
function resultOf(content: string | AnthropicBlock[] | null | undefined, path: string, counter: { n: number }): { text: string; attachments: Attachment[] } {
  const attachments: Attachment[] = [];
  if (content === null || content === undefined) return { text: '', attachments };
  if (typeof content === 'string') return { text: content, attachments };
  const texts: string[] = [];
  content.forEach((b, i) => {
    if (b.type === 'text') texts.push(str(b.text));
    else if (b.type === 'image' || b.type === 'document') {
      const a = anthropicAttachment(b, `${path}[${i}]`, counter);
      attachments.push(a);
      texts.push(attachmentMarker(a));
    }
  });
  return { text: texts.join('\n'), attachments };
}

class MessageBuilder {
  readonly out: ChatMessage[] = [];
  readonly toolNames = new Map<string, string>();
  readonly returned = { ours: 0, foreign: 0 };

  constructor(private readonly signer: ThinkingSigner) {}

  /** Counts the request's attachments (for default names). */
  private readonly attachments = { n: 0 };

  user(blocks: AnthropicBlock[], path: string): void {
    let text: string[] = [];
    let files: Attachment[] = [];
    const flush = (): void => {
      if (text.length > 0) this.out.push(files.length > 0 ? { role: 'user', content: text.join('\n'), attachments: files } : { role: 'user', content: text.join('\n') });
      text = [];
      files = [];
    };
    blocks.forEach((b, i) => {
      const at = `${path}[${i}]`;
      if (b.type === 'text') text.push(str(b.text));
      else if (b.type === 'tool_result') {
        flush();
        const id = str(b.tool_use_id);
        const { text: body, attachments } = resultOf(b.content as string | AnthropicBlock[] | undefined, `${at}.content`, this.attachments);
        const result: ChatMessage = { role: 'tool', content: b.is_error === true ? TOOL_ERROR_PREFIX + body : body, toolCallId: id };
        if (attachments.length > 0) result.attachments = attachments;
        const name = this.toolNames.get(id);
        if (name) result.name = name;
        this.out.push(result);
      } else if (b.type === 'image' || b.type === 'document') {
        const a = anthropicAttachment(b, at, this.attachments);
        files.push(a);
        text.push(attachmentMarker(a));
      } else this.noteOther(b);
    });
    flush();
  }

  assistant(blocks: AnthropicBlock[]): void {
    const text: string[] = [];
    const calls: ToolCall[] = [];
    for (const b of blocks) {
      if (b.type === 'text') text.push(str(b.text));
      else if (b.type === 'tool_use') {
        const call: ToolCall = { id: str(b.id), name: str(b.name), arguments: JSON.stringify(b.input ?? {}) };
        this.toolNames.set(call.id, call.name);
        calls.push(call);
      } else this.noteOther(b);
    }
    const message: ChatMessage = { role: 'assistant', content: text.join('\n') };
    if (calls.length > 0) message.toolCalls = calls;
    this.out.push(message);
  }

  /** Earlier thinking (Kimi takes none as input) and blocks of server-side tools are dropped. */
  private noteOther(b: AnthropicBlock): void {
    if (b.type !== 'thinking') return;
    if (this.signer.verify(str(b.thinking), b.signature)) this.returned.ours++;
    else this.returned.foreign++;
  }
}

function toolChoiceOf(req: MessagesRequest, names: Set<string>): ToolChoice {
  const c = req.tool_choice;
  if (!c || c.type === 'auto') return { kind: 'auto' };
  if (c.type === 'none') return { kind: 'none' };
  if (c.type === 'any') return { kind: 'required' };
  const name = c.name ?? '';
  if (!names.has(name)) {
    throw new ProxyError('invalid_request', `tool_choice.name: "${name.slice(0, 80)}" is not one of the tools in this request.`, { param: 'tool_choice.name' });
  }
  return { kind: 'function', name };
}

/** Client tools become neutral specs; Anthropic's server tools run nowhere here, except web search (Kimi's own). */
function toolsOf(req: MessagesRequest): { tools?: ToolRequest; webSearch?: boolean } {
  const specs: ToolSpec[] = [];
  let webSearch: boolean | undefined;
  for (const t of req.tools ?? []) {
    const type = t.type ?? 'custom';
    if (type.startsWith('web_search')) webSearch = true;
    if (type !== 'custom' && !t.input_schema) continue;
    const spec: ToolSpec = { name: t.name, parameters: t.input_schema ?? { type: 'object' } };
    if (t.description) spec.description = t.description;
    if (t.strict === true) spec.strict = true;
    specs.push(spec);
  }
  if (specs.length === 0) return webSearch === undefined ? {} : { webSearch };
  const choice = toolChoiceOf(req, new Set(specs.map((s) => s.name)));
  const tools: ToolRequest = { tools: specs, choice, parallel: req.tool_choice?.disable_parallel_tool_use !== true };
  return webSearch === undefined ? { tools } : { tools, webSearch };
}

/** Anthropic's thinking budget → an effort level (budgets are tokens; Kimi offers levels). */
function effortFromBudget(budget: number): string {
  if (budget < 4_096) return 'low';
  if (budget < 16_384) return 'medium';
  return 'high';
}

function resolveOf(req: MessagesRequest): ResolveOptions {
  const opts: ResolveOptions = {};
  const t = req.thinking;
  if (t) opts.thinking = t.type !== 'disabled';
  const effort = req.output_config?.effort ?? (t?.type === 'enabled' && t.budget_tokens ? effortFromBudget(t.budget_tokens) : undefined);
  if (effort && opts.thinking !== false) opts.reasoningEffort = effort;
  return opts;
}

export function anthropicToNeutral(req: MessagesRequest, signer: ThinkingSigner): AnthropicInput {
  const builder = new MessageBuilder(signer);
  const system = textOf(req.system, 'system');
  if (system !== '') builder.out.push({ role: 'system', content: system });
  req.messages.forEach((m, i) => {
    const path = `messages[${i}].content`;
    // Claude Code sends role "system" messages in the middle of `messages`: system text at that point.
    if (m.role === 'system') builder.out.push({ role: 'system', content: textOf(m.content, path) });
    else if (typeof m.content === 'string') builder.out.push({ role: m.role, content: m.content });
    else if (m.role === 'user') builder.user(m.content, path);
    else builder.assistant(m.content);
  });
  const { tools, webSearch } = toolsOf(req);
  const resolve = resolveOf(req);
  if (webSearch !== undefined) resolve.webSearch = webSearch;
  return {
    messages: builder.out,
    ...(tools ? { tools } : {}),
    resolve,
    omitThinking: req.thinking?.display === 'omitted' || req.thinking?.display === 'updates',
    returnedThinking: builder.returned,
  };
}
