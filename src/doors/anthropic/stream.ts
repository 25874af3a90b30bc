/**
 * ChatEvent stream → Anthropic Messages SSE, exactly Anthropic's sequence:
 *   message_start → per block content_block_start → content_block_delta… → content_block_stop
 *   → message_delta (stop_reason, usage) → message_stop.
 * Blocks: `thinking` (thinking_delta…, then one signature_delta before its stop), `text`
 * (text_delta…), `tool_use` (one input_json_delta with the whole input). Every block gets
 * exactly one stop. A failure after the start (the events throw, or end without `finish`) is
 * an `event: error` and nothing after it, so a cut answer never looks complete.
 */
import type { ChatEvent, FinishReason } from '../../core/chat-event.js';
import { ProxyError } from '../../core/errors.js';
import { StreamTokenEstimator, estimateTokens } from '../../core/tokens.js';
import { CitationCollector, citationMarker, formatSources, withCitationMarkers } from '../../render/openai/citations.js';
import { appendablePart } from '../../render/openai/text-replace.js';
import { EventPull } from '../../render/event-pull.js';
import { reportEnd } from '../../render/response-end.js';
import { anthropicErrorFrame } from './errors.js';
import { finishUsage, stopOf, usageOf, type AnthropicRenderOptions } from './shapes.js';

export const PING_FRAME = 'event: ping\ndata: {"type":"ping"}\n\n';

const frame = (type: string, json: string): string => `event: ${type}\ndata: ${json}\n\n`;

type OpenBlock = 'text' | 'thinking' | undefined;

export async function* renderAnthropicStream(events: AsyncIterable<ChatEvent>, opts: AnthropicRenderOptions): AsyncGenerator<string, void, undefined> {
  const text = new StreamTokenEstimator();
  const reasoning = new StreamTokenEstimator();
  let toolTokens = 0;
  const citations = new CitationCollector();
  let index = -1;
  let open: OpenBlock;
  let deltaPrefix = '';
  let signature: ReturnType<typeof opts.signer.start> | undefined;

  const start = (kind: 'text' | 'thinking'): string => {
    index++;
    open = kind;
    const field = kind === 'text' ? 'text' : 'thinking';
    deltaPrefix = `event: content_block_delta\ndata: {"type":"content_block_delta","index":${index},"delta":{"type":"${field}_delta","${field}":`;
    if (kind === 'thinking') signature = opts.signer.start();
    const block = kind === 'text' ? '{"type":"text","text":""}' : '{"type":"thinking","thinking":"","signature":""}';
    return frame('content_block_start', `{"type":"content_block_start","index":${index},"content_block":${block}}`);
  };
  const stop = (): string => {
    if (open === undefined) return '';
    let out = '';
    if (open === 'thinking' && signature) {
      const sig = JSON.stringify(signature.digest());
      out += frame('content_block_delta', `{"type":"content_block_delta","index":${index},"delta":{"type":"signature_delta","signature":${sig}}}`);
      signature = undefined;
    }
    open = undefined;
    return out + frame('content_block_stop', `{"type":"content_block_stop","index":${index}}`);
  };
  const textFrame = (piece: string): string => {
    const head = open === 'text' ? '' : stop() + start('text');
    text.add(piece);
    return head + deltaPrefix + JSON.stringify(piece) + '}}\n\n';
  };
  /** Frames for thinking text; an omitted thinking's block gets no text (it still counts). */
  const thinkingFrames = (piece: string): string | undefined => {
    reasoning.add(piece);
    const head = open === 'thinking' ? '' : stop() + start('thinking');
    if (opts.omitThinking) return head === '' ? undefined : head;
    signature!.update(piece);
    return head + deltaPrefix + JSON.stringify(piece) + '}}\n\n';
  };

  const message = { id: opts.id, type: 'message', role: 'assistant', model: opts.model, content: [], stop_reason: null, stop_sequence: null, usage: usageOf(opts.promptTokens, 0) };
  yield frame('message_start', JSON.stringify({ type: 'message_start', message }));

  const source = new EventPull(events);
  let finish: FinishReason | undefined;
  let stopSequence: string | undefined;
  let reported = false;
  try {
    try {
      loop: for (let step = await source.next(); step.done !== true; step = await source.next()) {
        const event = step.value;
        switch (event.type) {
          case 'text-delta':
          case 'text-replace': {
            const piece =
              event.type === 'text-delta'
                ? event.text
                : appendablePart(withCitationMarkers(event.previous, event.previousRefs, opts.citations), withCitationMarkers(event.text, event.refs, opts.citations));
            if (piece.length > 0) yield textFrame(piece);
            break;
          }
          case 'reasoning-delta': {
            const out = event.text.length > 0 ? thinkingFrames(event.text) : undefined;
            if (out !== undefined) yield out;
            break;
          }
          case 'citation-ref': {
            // Shown the way the sources after the answer are (CITATIONS), in the text or the thinking it belongs to.
            const marker = citationMarker(event.index, opts.citations);
            const out = marker === '' ? undefined : event.reasoning === true ? thinkingFrames(marker) : textFrame(marker);
            if (out !== undefined) yield out;
            break;
          }
          case 'tool-call': {
            const { call } = event;
            toolTokens += estimateTokens(call.arguments);
            let out = stop();
            index++;
            const block = JSON.stringify({ type: 'tool_use', id: call.id, name: call.name, input: {} });
            out += frame('content_block_start', `{"type":"content_block_start","index":${index},"content_block":${block}}`);
            const partial = JSON.stringify(call.arguments);
            out += frame('content_block_delta', `{"type":"content_block_delta","index":${index},"delta":{"type":"input_json_delta","partial_json":${partial}}}`);
            yield out + frame('content_block_stop', `{"type":"content_block_stop","index":${index}}`);
            break;
          }
          case 'citation':
            citations.add(event.citation);
            break;
          case 'finish':
            finish = event.reason;
            stopSequence = event.stopSequence;
            break loop;
          default:
            break; // meta, search, heartbeat: nothing for the client (the writer sends pings)
        }
      }
      if (finish === undefined) throw new ProxyError('upstream_protocol_error', 'The upstream stream ended without a finish event.');
    } catch (err) {
      reported = true;
      reportEnd(opts.onEnd, { outcome: 'error', error: err });
      yield anthropicErrorFrame(err, opts.requestId);
      return;
    }

    let out = '';
    const sources = citations.size > 0 ? formatSources(citations.sorted(), opts.citations) : null;
    if (sources !== null) out += textFrame(sources.text);
    // A reply with no content at all still has one (empty) text block, as Anthropic's do.
    if (index === -1) out += start('text');
    out += stop();
    const outputTokens = text.estimate() + reasoning.estimate() + toolTokens;
    const usage = { input_tokens: Math.max(0, Math.round(opts.promptTokens)), output_tokens: outputTokens };
    out += frame('message_delta', JSON.stringify({ type: 'message_delta', delta: stopOf(finish, stopSequence), usage }));
    out += frame('message_stop', '{"type":"message_stop"}');
    reported = true;
    reportEnd(opts.onEnd, finishUsage(opts, outputTokens));
    yield out;
  } finally {
    if (!reported) reportEnd(opts.onEnd, { outcome: 'client_gone' });
    // Stopped early (finish seen, or the consumer went away): let the source clean up.
    await source.close();
  }
}
