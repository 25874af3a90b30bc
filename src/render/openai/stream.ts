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
 * `text-replace`: a stream cannot retract what it sent, so only the part of the new text
 * after its longest common prefix with `previous` is sent, as a content delta. Usage counts
 * what was actually sent.
 */
import type { ChatEvent, FinishReason } from '../../core/chat-event.js';
import { ProxyError } from '../../core/errors.js';
import { reportEnd } from '../response-end.js';
import { StreamTokenEstimator } from '../../core/tokens.js';
import { CitationCollector, formatSources } from './citations.js';
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
  let finish: FinishReason | undefined;
  let failure: unknown;
  let failed = false;
  let reported = false;
  const citations = new CitationCollector();

  const it = events[Symbol.asyncIterator]();
  let exhausted = false;
  try {
    // Sent before the first event is pulled, so that the caller can flush something at once.
    yield `${prefix}"role":"assistant","content":""${suffix}`;
    try {
      loop: for (;;) {
        let step: IteratorResult<ChatEvent>;
        try {
          step = await it.next();
        } catch (err) {
          exhausted = true;
          throw err;
        }
        if (step.done === true) {
          exhausted = true;
          break;
        }
        const event = step.value;
        switch (event.type) {
          case 'text-delta':
          case 'text-replace': {
            const text = event.type === 'text-delta' ? event.text : appendablePart(event.previous, event.text);
            if (text.length === 0) break;
            if (thinkOpen) {
              thinkOpen = false;
              yield contentPrefix + JSON.stringify(THINK_CLOSE + text) + suffix;
            } else {
              yield contentPrefix + JSON.stringify(text) + suffix;
            }
            if (track) content.add(text);
            break;
          }
          case 'reasoning-delta': {
            const text = event.text;
            if (text.length === 0) break;
            if (track) reasoning.add(text);
            if (mode === 'reasoning_content') {
              const json = JSON.stringify(text);
              yield alias ? `${reasoningPrefix}${json},"reasoning":${json}${suffix}` : reasoningPrefix + json + suffix;
            } else if (mode === 'think_tags') {
              // Reasoning that resumes after answer text opens a new think block.
              if (thinkOpen) {
                yield contentPrefix + JSON.stringify(text) + suffix;
              } else {
                thinkOpen = true;
                yield contentPrefix + JSON.stringify(THINK_OPEN + text) + suffix;
              }
            }
            break;
          }
          case 'citation':
            citations.add(event.citation);
            break;
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

    yield `${prefix}},"logprobs":null,"finish_reason":${JSON.stringify(finish)}}]${usageNull}}\n\n`;

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
    if (!exhausted) {
      try {
        await it.return?.();
      } catch {
        // The source's own cleanup failure is not the client's concern.
      }
    }
  }
}
