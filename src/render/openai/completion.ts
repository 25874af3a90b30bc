/**
 * ChatEvent stream → one aggregated OpenAI `chat.completion` object.
 *
 * - `text-replace` substitutes the replaced block (see text-replace.ts), so `content` is the
 *   final answer, not the sum of everything the upstream sent.
 * - Reasoning: `reasoning_content` mode → `message.reasoning_content` (plus `message.reasoning`
 *   with `reasoningAlias`), only when there was reasoning; `think_tags` → one
 *   `<think>…</think>` block in front of the answer (all reasoning, in order); `none` → dropped.
 * - Citations (citations.ts): each `citation-ref` becomes its inline marker in `content` (or
 *   in the reasoning, for a reference inside the thinking text); a replaced block is
 *   substituted with its markers.
 * - Sources (styles `list` / `footnotes`): the sources block is appended to `content` and
 *   every rendered source gets a `url_citation` annotation whose `start_index`/`end_index`
 *   delimit that source's whole line in the appended block (UTF-16 code unit offsets into
 *   `content`, end exclusive). Style `none` renders no sources and no annotations.
 * - Tool calls: `message.tool_calls` (`content` is null when there was no text before the
 *   calls) and `finish_reason: "tool_calls"`; legacy `functions` requests get
 *   `message.function_call` and `finish_reason: "function_call"`.
 * - Errors thrown by the event iterable propagate; a stream without `finish` throws
 *   `upstream_protocol_error`. The caller maps either to an HTTP error.
 */
import type { ChatEvent, FinishReason, ToolCall } from '../../core/chat-event.js';
import { ProxyError } from '../../core/errors.js';
import { reportEnd } from '../response-end.js';
import { estimateTokens } from '../../core/tokens.js';
import { CitationCollector, citationMarker, citationTitle, formatSources, withCitationMarkers } from './citations.js';
import type { RenderOptions } from './render-options.js';
import { THINK_CLOSE, THINK_OPEN } from './stream.js';
import { substituteBlock } from './text-replace.js';
import { buildUsage, type ChatUsage } from './usage.js';

export interface UrlCitationAnnotation {
  type: 'url_citation';
  url_citation: { url: string; title: string; start_index: number; end_index: number };
}

export interface ChatCompletionToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatCompletionMessage {
  role: 'assistant';
  content: string | null;
  refusal: null;
  tool_calls?: ChatCompletionToolCall[];
  function_call?: { name: string; arguments: string };
  reasoning_content?: string;
  reasoning?: string;
  annotations?: UrlCitationAnnotation[];
}

export interface ChatCompletionChoice {
  index: 0;
  message: ChatCompletionMessage;
  logprobs: null;
  finish_reason: FinishReason | 'function_call';
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: [ChatCompletionChoice];
  usage: ChatUsage;
  system_fingerprint: null;
}

export async function renderCompletion(events: AsyncIterable<ChatEvent>, opts: RenderOptions): Promise<ChatCompletion> {
  let answer = '';
  let reasoning = '';
  let finish: FinishReason | undefined;
  const calls: ToolCall[] = [];
  const citations = new CitationCollector();

  const style = opts.citations;

  try {
    for await (const event of events) {
      if (event.type === 'text-delta') answer += event.text;
      else if (event.type === 'text-replace') {
        answer = substituteBlock(answer, withCitationMarkers(event.previous, event.previousRefs, style), withCitationMarkers(event.text, event.refs, style));
      } else if (event.type === 'reasoning-delta') reasoning += event.text;
      else if (event.type === 'citation-ref') {
        if (event.reasoning === true) reasoning += citationMarker(event.index, style);
        else answer += citationMarker(event.index, style);
      } else if (event.type === 'citation') citations.add(event.citation);
      else if (event.type === 'tool-call') calls.push(event.call);
      else if (event.type === 'finish') {
        finish = event.reason;
        break;
      }
    }
    if (finish === undefined) {
      throw new ProxyError('upstream_protocol_error', 'The upstream stream ended without a finish event.');
    }
  } catch (error) {
    reportEnd(opts.onEnd, { outcome: 'error', error });
    throw error;
  }

  const thinkBlock = opts.reasoning === 'think_tags' && reasoning.length > 0 ? THINK_OPEN + reasoning + THINK_CLOSE : '';
  let content = thinkBlock + answer;
  let annotations: UrlCitationAnnotation[] | undefined;
  const sources = citations.size > 0 ? formatSources(citations.sorted(), opts.citations) : null;
  if (sources !== null) {
    const base = content.length;
    content += sources.text;
    annotations = sources.lines.map(({ citation, start, end }) => ({
      type: 'url_citation',
      url_citation: { url: citation.url, title: citationTitle(citation), start_index: base + start, end_index: base + end },
    }));
  }

  const message: ChatCompletionMessage = { role: 'assistant', content: calls.length > 0 && content === '' ? null : content, refusal: null };
  const legacy = opts.legacyFunctions === true && calls.length > 0;
  if (legacy) message.function_call = { name: calls[0]!.name, arguments: calls[0]!.arguments };
  else if (calls.length > 0) message.tool_calls = calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
  if (opts.reasoning === 'reasoning_content' && reasoning.length > 0) {
    message.reasoning_content = reasoning;
    if (opts.reasoningAlias === true) message.reasoning = reasoning;
  }
  if (annotations !== undefined) message.annotations = annotations;

  const callText = calls.map((c) => c.name + c.arguments).join('');
  const usage = buildUsage(opts.promptTokens, estimateTokens(content.slice(thinkBlock.length) + callText), estimateTokens(reasoning));
  reportEnd(opts.onEnd, { outcome: 'finish', usage });

  return {
    id: opts.id,
    object: 'chat.completion',
    created: Math.floor(opts.created),
    model: opts.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: legacy && finish === 'tool_calls' ? 'function_call' : finish }],
    usage,
    system_fingerprint: null,
  };
}
