/**
 * ChatEvent stream → OpenAI `chat.completion.chunk` SSE frames.
 *
 * Frame order (exactly OpenAI's):
 *   role chunk → content / reasoning chunks → [sources chunk] → finish chunk
 *   → [usage chunk, only with include_usage] → `data: [DONE]`.
 * On failure (the event iterable throws, or ends without `finish`):
 *   … → [think tag closed] → `data: {"error":{…}}` → `data: [DONE]`, with no finish chunk and
 *   no usage chunk, so that a truncated answer is never reported as a clean stop.
 *
 * Hot path: every per-delta frame is the concatenation of a precomputed prefix, the
 * JSON-encoded delta text and a precomputed suffix. Tokens are estimated once, at the end,
 * and only when someone wants usage, from a bounded sample of the sent text (see
 * StreamTokenEstimator): the whole answer is never kept.
 *
 * `tool-call`: two chunks per call, exactly as OpenAI streams them: the first carries
 * `index`, `id`, `type` and `function.name` with empty arguments (clients such as the AI
 * SDK wait for the name), the second the whole arguments text; then `finish_reason:
 * "tool_calls"`. Legacy `functions` requests get `function_call` deltas instead.
 *
 * `text-replace`: a stream cannot retract what it sent, so only the part of the new text
 * after its longest common prefix with `previous` (both with their citation markers) is
 * sent, as a content delta. Usage counts what was actually sent.
 *
 * Citations (citations.ts): a `citation-ref` is sent as its inline marker, as content (or as
 * reasoning, for a reference inside the thinking text); the sources block comes before the
 * finish chunk.
 */
import type { ChatEvent, FinishReason } from '../../core/chat-event.js';
import { ProxyError } from '../../core/errors.js';
import { EventPull } from '../event-pull.js';
import { reportEnd } from '../response-end.js';
import { StreamTokenEstimator } from '../../core/tokens.js';
import { CitationCollector, citationMarker, formatSources, withCitationMarkers } from './citations.js';
import { DONE_FRAME, errorFrame } from './errors.js';
import type { RenderOptions } from './render-options.js';
import { appendablePart } from './text-replace.js';
import { buildUsage } from './usage.js';

/** Opens the thinking block in `think_tags` mode. */
export const THINK_OPEN = '<think>\n';
/** Closes the thinking block in `think_tags` mode, before the answer. */
export const THINK_CLOSE = '\n</think>\n\n';

export async function* renderChatStream(
  events: AsyncIterable<ChatEvent>,
  opts: RenderOptions,
): AsyncGenerator<string, void, undefined> {
  const head =
    `{"id":${JSON.stringify(opts.id)},"object":"chat.completion.chunk",` +
    `"created":${Math.floor(opts.created)},"model":${JSON.stringify(opts.model)}`;
  const usageNull = opts.includeUsage ? ',"usage":null' : '';
  const prefix = `data: ${head},"choices":[{"index":0,"delta":{`;
  const suffix = `},"logprobs":null,"finish_reason":null}]${usageNull}}\n\n`;
  const contentPrefix = `${prefix}"content":`;
  const reasoningPrefix = `${prefix}"reasoning_content":`;
  const mode = opts.reasoning;
  const alias = opts.reasoningAlias === true;
  // Emitted text is only sampled when someone will ask for usage.
  const track = opts.includeUsage || opts.onEnd !== undefined;

  // Bounded samples of what was sent, for the usage estimate (never the whole answer).
  const content = new StreamTokenEstimator();
  const reasoning = new StreamTokenEstimator();
  let thinkOpen = false;
  let callIndex = 0;
  let finish: FinishReason | undefined;
  let failure: unknown;
  let failed = false;
  let reported = false;
  const citations = new CitationCollector();

  const style = opts.citations;

  /** The frame for answer text (closing an open think block first), counted for usage. */
  const contentFrame = (text: string): string => {
    if (track) content.add(text);
    if (thinkOpen) {
      thinkOpen = false;
      return contentPrefix + JSON.stringify(THINK_CLOSE + text) + suffix;
    }
    return contentPrefix + JSON.stringify(text) + suffix;
  };
  /** The frame for reasoning text per the reasoning mode, or undefined when it is dropped. */
  const reasoningFrame = (text: string): string | undefined => {
    if (track) reasoning.add(text);
    if (mode === 'reasoning_content') {
      const json = JSON.stringify(text);
      return alias ? `${reasoningPrefix}${json},"reasoning":${json}${suffix}` : reasoningPrefix + json + suffix;
    }
    if (mode === 'think_tags') {
      // Reasoning that resumes after answer text opens a new think block.
      if (thinkOpen) return contentPrefix + JSON.stringify(text) + suffix;
      thinkOpen = true;
      return contentPrefix + JSON.stringify(THINK_OPEN + text) + suffix;
    }
    return undefined;
  };

  const source = new EventPull(events);
  try {
    // Sent before the first event is pulled, so that the caller can flush something at once.
    yield `${prefix}"role":"assistant","content":""${suffix}`;
    try {
      loop: for (let step = await source.next(); step.done !== true; step = await source.next()) {
        const event = step.value;
        switch (event.type) {
          case 'text-delta':
            if (event.text.length > 0) yield contentFrame(event.text);
            break;
          case 'text-replace': {
            const text = appendablePart(withCitationMarkers(event.previous, event.previousRefs, style), withCitationMarkers(event.text, event.refs, style));
            if (text.length > 0) yield contentFrame(text);
            break;
          }
          case 'reasoning-delta': {
            const frame = event.text.length > 0 ? reasoningFrame(event.text) : undefined;
            if (frame !== undefined) yield frame;
            break;
          }
          case 'citation-ref': {
            const marker = citationMarker(event.index, style);
            if (marker === '') break;
            const frame = event.reasoning === true ? reasoningFrame(marker) : contentFrame(marker);
            if (frame !== undefined) yield frame;
            break;
          }
          case 'citation':
            citations.add(event.citation);
            break;
          case 'tool-call': {
            if (thinkOpen) {
              thinkOpen = false;
              yield contentPrefix + JSON.stringify(THINK_CLOSE) + suffix;
            }
            const { id, name, arguments: args } = event.call;
            if (track) content.add(args);
            if (opts.legacyFunctions === true) {
              if (callIndex++ > 0) break;
              yield `${prefix}"function_call":{"name":${JSON.stringify(name)},"arguments":""}${suffix}`;
              yield `${prefix}"function_call":{"arguments":${JSON.stringify(args)}}${suffix}`;
              break;
            }
            const index = callIndex++;
            yield `${prefix}"tool_calls":[{"index":${index},"id":${JSON.stringify(id)},"type":"function","function":{"name":${JSON.stringify(name)},"arguments":""}}]${suffix}`;
            yield `${prefix}"tool_calls":[{"index":${index},"function":{"arguments":${JSON.stringify(args)}}}]${suffix}`;
            break;
          }
          case 'finish':
            finish = event.reason;
            break loop;
          default:
            // meta, search, heartbeat: nothing for the client.
            break;
        }
      }
    } catch (err) {
      failed = true;
      failure = err;
    }

    if (thinkOpen) {
      thinkOpen = false;
      yield contentPrefix + JSON.stringify(THINK_CLOSE) + suffix;
    }

    if (failed || finish === undefined) {
      if (!failed) {
        failure = new ProxyError('upstream_protocol_error', 'The upstream stream ended without a finish event.');
      }
      reported = true;
      reportEnd(opts.onEnd, { outcome: 'error', error: failure });
      yield errorFrame(failure, opts.requestId);
      yield DONE_FRAME;
      return;
    }

    const sources = citations.size > 0 ? formatSources(citations.sorted(), opts.citations) : null;
    if (sources !== null) {
      yield contentPrefix + JSON.stringify(sources.text) + suffix;
      if (track) content.add(sources.text);
    }

    const finishReason = finish === 'tool_calls' && opts.legacyFunctions === true ? 'function_call' : finish;
    yield `${prefix}},"logprobs":null,"finish_reason":${JSON.stringify(finishReason)}}]${usageNull}}\n\n`;

    if (track) {
      const usage = buildUsage(opts.promptTokens, content.estimate(), reasoning.estimate());
      reported = true;
      reportEnd(opts.onEnd, { outcome: 'finish', usage });
      if (opts.includeUsage) yield `data: ${head},"choices":[],"usage":${JSON.stringify(usage)}}\n\n`;
    }
    yield DONE_FRAME;
  } finally {
    // The reader stopped pulling before the reply finished or failed: the client has gone.
    if (!reported) reportEnd(opts.onEnd, { outcome: 'client_gone' });
    // Stopped early (finish seen, or the consumer went away): let the source clean up.
    await source.close();
  }
}
