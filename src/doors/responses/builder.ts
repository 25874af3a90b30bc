/**
 * Builds a Responses API response from ChatEvents, and (when streaming) the exact event
 * sequence openai-node's ResponseStream and Codex accept: response.created, response.in_progress,
 * then per output item output_item.added → its part/delta/done events → output_item.done, and
 * response.completed (or .incomplete / .failed) carrying the whole response. Every event has
 * `type` and a `sequence_number` counting up from 0.
 *
 * Items: `reasoning` (Kimi thinking as one summary part), `message` (one output_text part),
 * `function_call` / `custom_tool_call` (the whole arguments in one delta).
 */
import type { Citation, CitationRefAt, FinishReason, ToolCall } from '../../core/chat-event.js';
import { StreamTokenEstimator, estimateTokens } from '../../core/tokens.js';
import { CitationCollector, citationMarker, formatSources, withCitationMarkers } from '../../render/openai/citations.js';
import type { CitationStyle } from '../../render/openai/render-options.js';
import { appendablePart, substituteBlock } from '../../render/openai/text-replace.js';
import { newItemId, responseError, usageOf, type OutputItem, type ResponseObject } from './response-object.js';

export interface BuilderOptions {
  /** Build the SSE frames (false: only the final response is wanted). */
  stream: boolean;
  promptTokens: number;
  citations: CitationStyle;
  freeformTools: ReadonlySet<string>;
}

type Open = { kind: 'message' | 'reasoning'; index: number; id: string; text: string } | undefined;

const INCOMPLETE: Partial<Record<FinishReason, string>> = { length: 'max_output_tokens', content_filter: 'content_filter' };

export class ResponseBuilder {
  private seq = 0;
  private open: Open;
  private deltaHead = '';
  private readonly textTokens = new StreamTokenEstimator();
  private readonly reasoningTokens = new StreamTokenEstimator();
  private toolTokens = 0;
  private readonly citations = new CitationCollector();

  constructor(
    readonly response: ResponseObject,
    private readonly opts: BuilderOptions,
  ) {}

  private frame(type: string, fields: Record<string, unknown>): string {
    const seq = this.seq++;
    if (!this.opts.stream) return '';
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq, ...fields })}\n\n`;
  }

  start(): string {
    return this.frame('response.created', { response: this.response }) + this.frame('response.in_progress', { response: this.response });
  }

  private openItem(kind: 'message' | 'reasoning'): string {
    const index = this.response.output.length;
    const id = newItemId(kind === 'message' ? 'msg' : 'rs');
    this.open = { kind, index, id, text: '' };
    // A placeholder keeps the output indexes right; the finished item replaces it when it closes.
    this.response.output.push({ id, type: kind });
    if (kind === 'message') {
      this.deltaHead = `event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":`;
      return (
        this.frame('response.output_item.added', { output_index: index, item: { id, type: 'message', status: 'in_progress', role: 'assistant', content: [] } }) +
        this.frame('response.content_part.added', { item_id: id, output_index: index, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } })
      );
    }
    return (
      this.frame('response.output_item.added', { output_index: index, item: { id, type: 'reasoning', summary: [] } }) +
      this.frame('response.reasoning_summary_part.added', { item_id: id, output_index: index, summary_index: 0, part: { type: 'summary_text', text: '' } })
    );
  }

  private closeItem(): string {
    const o = this.open;
    if (!o) return '';
    this.open = undefined;
    const ids = { item_id: o.id, output_index: o.index };
    if (o.kind === 'message') {
      const part = { type: 'output_text', text: o.text, annotations: [] };
      const item: OutputItem = { id: o.id, type: 'message', status: 'completed', role: 'assistant', content: [part] };
      this.response.output[o.index] = item;
      return (
        this.frame('response.output_text.done', { ...ids, content_index: 0, text: o.text, logprobs: [] }) +
        this.frame('response.content_part.done', { ...ids, content_index: 0, part }) +
        this.frame('response.output_item.done', { output_index: o.index, item })
      );
    }
    const part = { type: 'summary_text', text: o.text };
    const item: OutputItem = { id: o.id, type: 'reasoning', summary: [part] };
    this.response.output[o.index] = item;
    return (
      this.frame('response.reasoning_summary_text.done', { ...ids, summary_index: 0, text: o.text }) +
      this.frame('response.reasoning_summary_part.done', { ...ids, summary_index: 0, part }) +
      this.frame('response.output_item.done', { output_index: o.index, item })
    );
  }

  text(piece: string): string {
    if (piece.length === 0) return '';
    const head = this.open?.kind === 'message' ? '' : this.closeItem() + this.openItem('message');
    const o = this.open!;
    o.text += piece;
    this.textTokens.add(piece);
    const seq = this.seq++;
    if (!this.opts.stream) return '';
    return `${head}${this.deltaHead}${seq},"item_id":"${o.id}","output_index":${o.index},"content_index":0,"delta":${JSON.stringify(piece)},"logprobs":[]}\n\n`;
  }

  /** A block replaced upstream: a stream appends the new tail; a whole response substitutes. */
  replace(previous: string, text: string): string {
    if (this.opts.stream || this.open?.kind !== 'message') return this.text(appendablePart(previous, text));
    this.open.text = substituteBlock(this.open.text, previous, text);
    return '';
  }

  reasoning(piece: string): string {
    if (piece.length === 0) return '';
    const head = this.open?.kind === 'reasoning' ? '' : this.closeItem() + this.openItem('reasoning');
    const o = this.open!;
    o.text += piece;
    this.reasoningTokens.add(piece);
    return head + this.frame('response.reasoning_summary_text.delta', { item_id: o.id, output_index: o.index, summary_index: 0, delta: piece });
  }

  toolCall(call: ToolCall): string {
    let out = this.closeItem();
    const index = this.response.output.length;
    this.toolTokens += estimateTokens(call.arguments);
    if (this.opts.freeformTools.has(call.name)) {
      const input = freeformInput(call.arguments);
      const id = newItemId('ctc');
      const item: OutputItem = { id, type: 'custom_tool_call', status: 'completed', call_id: call.id, name: call.name, input };
      this.response.output.push(item);
      out += this.frame('response.output_item.added', { output_index: index, item: { ...item, status: 'in_progress', input: '' } });
      out += this.frame('response.custom_tool_call_input.delta', { item_id: id, output_index: index, delta: input });
      out += this.frame('response.custom_tool_call_input.done', { item_id: id, output_index: index, input });
      return out + this.frame('response.output_item.done', { output_index: index, item });
    }
    const id = newItemId('fc');
    const item: OutputItem = { id, type: 'function_call', status: 'completed', call_id: call.id, name: call.name, arguments: call.arguments };
    this.response.output.push(item);
    out += this.frame('response.output_item.added', { output_index: index, item: { ...item, status: 'in_progress', arguments: '' } });
    out += this.frame('response.function_call_arguments.delta', { item_id: id, output_index: index, delta: call.arguments });
    out += this.frame('response.function_call_arguments.done', { item_id: id, output_index: index, arguments: call.arguments });
    return out + this.frame('response.output_item.done', { output_index: index, item });
  }

  citation(c: Citation): void {
    this.citations.add(c);
  }

  /** A reference to source `index` at this point of the answer or the reasoning, shown as CITATIONS says. */
  citationRef(index: number, inReasoning: boolean): string {
    const marker = citationMarker(index, this.opts.citations);
    if (marker === '') return '';
    return inReasoning ? this.reasoning(marker) : this.text(marker);
  }

  /** The upstream rewrote a block: both texts carry their citation references where they stood. */
  replaceWithRefs(previous: string, previousRefs: readonly CitationRefAt[] | undefined, text: string, refs: readonly CitationRefAt[] | undefined): string {
    return this.replace(withCitationMarkers(previous, previousRefs, this.opts.citations), withCitationMarkers(text, refs, this.opts.citations));
  }

  /** Closes the last item, sets status and usage; the last event is response.completed or .incomplete. */
  finish(reason: FinishReason): { frames: string; usage: { prompt_tokens: number; completion_tokens: number } } {
    let out = '';
    const sources = this.citations.size > 0 ? formatSources(this.citations.sorted(), this.opts.citations) : null;
    if (sources !== null) out += this.text(sources.text);
    out += this.closeItem();
    const reasoning = this.reasoningTokens.estimate();
    const output = this.textTokens.estimate() + reasoning + this.toolTokens;
    const r = this.response;
    r.usage = usageOf(this.opts.promptTokens, output, reasoning);
    const incomplete = INCOMPLETE[reason];
    r.status = incomplete ? 'incomplete' : 'completed';
    if (incomplete) r.incomplete_details = { reason: incomplete };
    return {
      frames: out + this.frame(incomplete ? 'response.incomplete' : 'response.completed', { response: r }),
      usage: { prompt_tokens: r.usage.input_tokens, completion_tokens: output },
    };
  }

  /** The response failed after it started: response.failed with the error (items so far stay). */
  fail(err: unknown): string {
    const o = this.open;
    if (o) {
      // The cut item is reported as it stood, marked incomplete, never as finished.
      this.response.output[o.index] = o.kind === 'message'
        ? { id: o.id, type: 'message', status: 'incomplete', role: 'assistant', content: [{ type: 'output_text', text: o.text, annotations: [] }] }
        : { id: o.id, type: 'reasoning', summary: [{ type: 'summary_text', text: o.text }] };
      this.open = undefined;
    }
    this.response.status = 'failed';
    this.response.error = responseError(err);
    return this.frame('response.failed', { response: this.response });
  }
}

/** A free-form tool's input: the pipeline hands calls over as `{"input": "…"}`; anything else is passed on as text. */
function freeformInput(args: string): string {
  try {
    const parsed = JSON.parse(args) as unknown;
    if (parsed !== null && typeof parsed === 'object' && typeof (parsed as { input?: unknown }).input === 'string') return (parsed as { input: string }).input;
  } catch {
    // not JSON: the text itself
  }
  return args;
}
