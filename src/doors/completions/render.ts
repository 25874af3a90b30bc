/**
 * ChatEvent stream → the legacy completions shapes: one `text_completion` object, or
 * `text_completion` chunks (`choices[].text` deltas, then one with `finish_reason`). A request
 * with several prompts has one choice per prompt (its `index`), answered one after another;
 * the route adds the usage chunk and `data: [DONE]`. Thinking is not shown (the API has no
 * place for it) but counts as output tokens; citations render as in the chat door.
 */
import type { ChatEvent, FinishReason } from '../../core/chat-event.js';
import { ProxyError } from '../../core/errors.js';
import { StreamTokenEstimator } from '../../core/tokens.js';
import { CitationCollector, citationMarker, formatSources, withCitationMarkers } from '../../render/openai/citations.js';
import { errorFrame } from '../../render/openai/errors.js';
import type { CitationStyle } from '../../render/openai/render-options.js';
import { appendablePart, substituteBlock } from '../../render/openai/text-replace.js';
import { reportEnd, type ResponseEnd } from '../../render/response-end.js';

export type CompletionFinish = 'stop' | 'length' | 'content_filter';

export interface TextChoice {
  text: string;
  index: number;
  logprobs: null;
  finish_reason: CompletionFinish;
}

export interface ChoiceUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

export interface ChoiceOptions {
  /** The same `cmpl-…` id, `created` and model on every chunk. */
  id: string;
  created: number;
  model: string;
  index: number;
  promptTokens: number;
  citations: CitationStyle;
  /** `echo: true`: the prompt, sent in front of the answer. */
  echo?: string;
  requestId?: string;
  onEnd?: (end: ResponseEnd) => void;
}

/** No tools are offered on this route, so a turn can only end with text. */
const FINISH: Record<FinishReason, CompletionFinish> = { stop: 'stop', length: 'length', content_filter: 'content_filter', tool_calls: 'stop' };

const noFinish = (): ProxyError => new ProxyError('upstream_protocol_error', 'The upstream stream ended without a finish event.');

/** The answer text of a turn: a stream appends only (`stream`), a whole answer substitutes replaced blocks. */
class AnswerText {
  text = '';
  readonly tokens = new StreamTokenEstimator();
  readonly reasoning = new StreamTokenEstimator();
  private readonly sources = new CitationCollector();

  constructor(
    private readonly style: CitationStyle,
    private readonly stream: boolean,
  ) {}

  /** Feeds one event; returns the text it appends (a stream's delta), or the finish reason. */
  add(e: ChatEvent): { piece: string; finish?: FinishReason } {
    let piece = '';
    switch (e.type) {
      case 'text-delta':
        piece = e.text;
        break;
      case 'text-replace': {
        const previous = withCitationMarkers(e.previous, e.previousRefs, this.style);
        const next = withCitationMarkers(e.text, e.refs, this.style);
        if (this.stream) piece = appendablePart(previous, next);
        else this.text = substituteBlock(this.text, previous, next);
        break;
      }
      case 'citation-ref':
        if (e.reasoning !== true) piece = citationMarker(e.index, this.style);
        break;
      case 'reasoning-delta':
        this.reasoning.add(e.text);
        break;
      case 'citation':
        this.sources.add(e.citation);
        break;
      case 'finish': {
        const block = this.sources.size > 0 ? formatSources(this.sources.sorted(), this.style) : null;
        if (block !== null) piece = block.text;
        this.append(piece);
        return { piece, finish: e.reason };
      }
      default:
        break;
    }
    this.append(piece);
    return { piece };
  }

  private append(piece: string): void {
    if (piece.length === 0) return;
    this.text += piece;
    this.tokens.add(piece);
  }

  usage(promptTokens: number): ChoiceUsage {
    return { prompt_tokens: Math.max(0, Math.round(promptTokens)), completion_tokens: this.tokens.estimate() + this.reasoning.estimate() };
  }
}

/** One prompt's choice, whole; a failure is thrown (the route answers it with an HTTP error). */
export async function renderTextChoice(events: AsyncIterable<ChatEvent>, opts: ChoiceOptions): Promise<{ choice: TextChoice; usage: ChoiceUsage }> {
  const answer = new AnswerText(opts.citations, false);
  try {
    for await (const e of events) {
      const { finish } = answer.add(e);
      if (finish === undefined) continue;
      const usage = answer.usage(opts.promptTokens);
      reportEnd(opts.onEnd, { outcome: 'finish', usage });
      return { choice: { text: (opts.echo ?? '') + answer.text, index: opts.index, logprobs: null, finish_reason: FINISH[finish] }, usage };
    }
    throw noFinish();
  } catch (err) {
    reportEnd(opts.onEnd, { outcome: 'error', error: err });
    throw err;
  }
}

/**
 * One prompt's choice as chunks. Returns its usage, or undefined after a failure, which is
 * reported in the stream (an error frame, never a finish chunk, so a cut answer never looks complete).
 */
export async function* renderTextChoiceStream(events: AsyncIterable<ChatEvent>, opts: ChoiceOptions): AsyncGenerator<string, ChoiceUsage | undefined, undefined> {
  const answer = new AnswerText(opts.citations, true);
  const head = `data: {"id":${JSON.stringify(opts.id)},"object":"text_completion","created":${opts.created},"model":${JSON.stringify(opts.model)},"choices":[{"index":${opts.index},"text":`;
  const chunk = (text: string, finish: CompletionFinish | null): string => `${head}${JSON.stringify(text)},"logprobs":null,"finish_reason":${finish === null ? 'null' : `"${finish}"`}}]}\n\n`;
  let ended = false;
  try {
    if (opts.echo) yield chunk(opts.echo, null);
    for await (const e of events) {
      const { piece, finish } = answer.add(e);
      if (finish !== undefined) {
        const usage = answer.usage(opts.promptTokens);
        ended = true;
        reportEnd(opts.onEnd, { outcome: 'finish', usage });
        yield (piece.length > 0 ? chunk(piece, null) : '') + chunk('', FINISH[finish]);
        return usage;
      }
      if (piece.length > 0) yield chunk(piece, null);
    }
    throw noFinish();
  } catch (err) {
    ended = true;
    reportEnd(opts.onEnd, { outcome: 'error', error: err });
    yield errorFrame(err, opts.requestId);
    return undefined;
  } finally {
    if (!ended) reportEnd(opts.onEnd, { outcome: 'client_gone' });
  }
}
