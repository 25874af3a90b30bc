/**
 * ChatEvent stream → one Anthropic `message` object (non-streaming requests). Blocks come in
 * the order the events did: thinking (signed), text, tool_use. `text-replace` substitutes the
 * replaced text inside the current text block. Errors thrown by the events propagate (the
 * route answers them with an HTTP error); a stream without `finish` throws.
 */
import type { ChatEvent, FinishReason } from '../../core/chat-event.js';
import { ProxyError } from '../../core/errors.js';
import { estimateTokens } from '../../core/tokens.js';
import { CitationCollector, citationMarker, formatSources, withCitationMarkers } from '../../render/openai/citations.js';
import { substituteBlock } from '../../render/openai/text-replace.js';
import { reportEnd } from '../../render/response-end.js';
import { finishUsage, stopOf, usageOf, type AnthropicRenderOptions, type AnthropicUsage, type StopReason } from './shapes.js';

export type AnthropicContentBlock =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown };

export interface AnthropicMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: AnthropicContentBlock[];
  stop_reason: StopReason;
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

function parseInput(args: string): unknown {
  try {
    return JSON.parse(args);
  } catch {
    // The tool pipeline hands over checked JSON; never fail the whole answer on one call.
    return {};
  }
}

interface Collected {
  content: AnthropicContentBlock[];
  finish: FinishReason;
  stopSequence?: string;
  reasoningTokens: number;
  toolTokens: number;
}

async function collect(events: AsyncIterable<ChatEvent>, opts: AnthropicRenderOptions): Promise<Collected> {
  const content: AnthropicContentBlock[] = [];
  const citations = new CitationCollector();
  let reasoningTokens = 0;
  let toolTokens = 0;
  const last = (): AnthropicContentBlock | undefined => content[content.length - 1];
  const textBlock = (): { type: 'text'; text: string } => {
    const b = last();
    if (b?.type === 'text') return b;
    const fresh = { type: 'text' as const, text: '' };
    content.push(fresh);
    return fresh;
  };
  const addThinking = (text: string): void => {
    reasoningTokens += estimateTokens(text);
    const shown = opts.omitThinking ? '' : text;
    const b = last();
    if (b?.type === 'thinking') b.thinking += shown;
    else content.push({ type: 'thinking', thinking: shown, signature: '' });
  };
  for await (const event of events) {
    if (event.type === 'text-delta') textBlock().text += event.text;
    else if (event.type === 'text-replace') {
      const b = textBlock();
      b.text = substituteBlock(b.text, withCitationMarkers(event.previous, event.previousRefs, opts.citations), withCitationMarkers(event.text, event.refs, opts.citations));
    } else if (event.type === 'reasoning-delta') addThinking(event.text);
    else if (event.type === 'citation-ref') {
      // Shown the way the sources after the answer are (CITATIONS), in the text or the thinking it belongs to.
      const marker = citationMarker(event.index, opts.citations);
      if (marker === '') continue;
      if (event.reasoning === true) addThinking(marker);
      else textBlock().text += marker;
    } else if (event.type === 'tool-call') {
      toolTokens += estimateTokens(event.call.arguments);
      content.push({ type: 'tool_use', id: event.call.id, name: event.call.name, input: parseInput(event.call.arguments) });
    } else if (event.type === 'citation') citations.add(event.citation);
    else if (event.type === 'finish') {
      const sources = citations.size > 0 ? formatSources(citations.sorted(), opts.citations) : null;
      if (sources !== null) textBlock().text += sources.text;
      return { content, finish: event.reason, ...(event.stopSequence !== undefined ? { stopSequence: event.stopSequence } : {}), reasoningTokens, toolTokens };
    }
  }
  throw new ProxyError('upstream_protocol_error', 'The upstream stream ended without a finish event.');
}

export async function renderAnthropicMessage(events: AsyncIterable<ChatEvent>, opts: AnthropicRenderOptions): Promise<AnthropicMessage> {
  let collected: Collected;
  try {
    collected = await collect(events, opts);
  } catch (err) {
    reportEnd(opts.onEnd, { outcome: 'error', error: err });
    throw err;
  }
  const { content, finish } = collected;
  if (content.length === 0) content.push({ type: 'text', text: '' });
  let textTokens = 0;
  for (const b of content) {
    if (b.type === 'thinking') b.signature = opts.signer.sign(b.thinking);
    else if (b.type === 'text') textTokens += estimateTokens(b.text);
  }
  const outputTokens = textTokens + collected.reasoningTokens + collected.toolTokens;
  reportEnd(opts.onEnd, finishUsage(opts, outputTokens));
  return {
    id: opts.id,
    type: 'message',
    role: 'assistant',
    model: opts.model,
    content,
    ...stopOf(finish, collected.stopSequence),
    usage: usageOf(opts.promptTokens, outputTokens),
  };
}
