/**
 * The tool pipeline: a ChatEvent → ChatEvent transform applied in the core to every turn
 * that offers functions or asks for JSON, so that every front door gets `tool-call` events
 * and the same errors.
 *
 * - Answer text streams as it comes; call blocks are captured (scanner.ts), parsed whatever
 *   the drift (parse-block.ts), typed and validated (tool-calls.ts), and emitted as complete
 *   `tool-call` events; the turn then finishes with `tool_calls`. Text after a call block is
 *   dropped: the model was told to stop there.
 * - Calls written in the thinking text are used only when the answer has none; raw markup
 *   never reaches the answer or the reasoning.
 * - A block that cannot be used (unreadable, unknown function, schema failure under the
 *   `repair` policy or a strict tool), a `required`/named choice without a call, or JSON
 *   output that does not validate gets a bounded number of repair turns on the same upstream
 *   chat; their text stays invisible. Still failing: 422 `invalid_tool_call`,
 *   `missing_tool_call` or `invalid_json_output`.
 * - A failure of the upstream while a block is captured propagates as an error: the client
 *   never gets half a call.
 */
import type { ChatEvent, FinishReason, ToolCall } from '../core/chat-event.js';
import { ProxyError } from '../core/errors.js';
import type { ResponseFormat, ToolRequest, ToolSpec } from '../core/tool-spec.js';
import { extractJson } from './json-output.js';
import { CALLS_OPEN } from './markers.js';
import type { RepairReason, ToolNote, ToolNoteSink } from './notes.js';
import { callsFromJson, parseBlock, type ParsedBlock } from './parse-block.js';
import { offeredTools } from './prompt.js';
import type { SchemaCache } from './schema-cache.js';
import { ToolScanner, type Segment } from './scanner.js';
import { buildCalls, newCallId, resolveToolName, type SchemaMismatchPolicy } from './tool-calls.js';
import { parseJsonLoose } from './values.js';

export interface UpstreamPosition {
  chatId?: string;
  assistantMessageId?: string;
}

export interface ToolPipelineOptions {
  tools?: ToolRequest;
  responseFormat?: ResponseFormat;
  schemas: SchemaCache;
  /** Repair turns allowed per request (each costs the account a message). */
  repairTurns: number;
  schemaMismatch: SchemaMismatchPolicy;
  /** Opens a turn on the same upstream chat, answering the reply at `after`. */
  followUp: (text: string, after: UpstreamPosition) => Promise<AsyncIterable<ChatEvent>>;
  newId?: () => string;
  /** Drift, parse failures, schema mismatches, repairs and dropped text, for logs and metrics. */
  onNote?: ToolNoteSink;
}

type JsonFormat = Exclude<ResponseFormat, { kind: 'text' }>;

/** What one upstream reply amounted to. */
interface Attempt {
  calls: ToolCall[];
  reasoningCalls: ToolCall[];
  problems: string[];
  blockSeen: boolean;
  json: string;
  finish: FinishReason;
}

export async function* toolPipeline(source: AsyncIterable<ChatEvent>, opts: ToolPipelineOptions): AsyncGenerator<ChatEvent> {
  const offered: ToolSpec[] = opts.tools && opts.tools.choice.kind !== 'none' ? offeredTools(opts.tools) : [];
  const jsonFormat: JsonFormat | undefined = opts.responseFormat && opts.responseFormat.kind !== 'text' ? opts.responseFormat : undefined;
  const mustCall = opts.tools?.choice.kind === 'required' || opts.tools?.choice.kind === 'function';
  const parallel = opts.tools?.parallel !== false;
  const position: UpstreamPosition = {};
  const note = (n: ToolNote): void => opts.onNote?.(n);
  let emitted = 0;
  let events = source;

  for (let attempt = 0; ; attempt++) {
    const visible = attempt === 0;
    const state: Attempt = { calls: [], reasoningCalls: [], problems: [], blockSeen: false, json: '', finish: 'stop' };
    const answer = new ToolScanner({ jsonCalls: offered.length > 0 });
    const reasoning = new ToolScanner({ jsonCalls: false });
    const out: ChatEvent[] = [];

    const takeCalls = (calls: ToolCall[], into: ToolCall[]): void => {
      for (const c of calls) if (parallel || emitted + into.length === 0) into.push(c);
    };
    /** 'text': not a call after all; 'dropped': call markup with nothing to call; 'calls': a call block. */
    const useBlock = (seg: Exclude<Segment, { kind: 'text' }>): 'text' | 'dropped' | 'calls' => {
      const parsed = seg.kind === 'block' ? parseBlock(seg.raw) : jsonValueCalls(seg, offered);
      if (!parsed.callShaped) return 'text';
      if (offered.length === 0) {
        note({ kind: 'call_ignored' });
        return 'dropped';
      }
      if (seg.kind !== 'json-fence' && !seg.closed && state.finish === 'length') {
        // Cut by the length limit: never half a call; the client sees finish_reason length.
        note({ kind: 'parse_failure', reason: 'cut_by_length' });
        return 'calls';
      }
      if (parsed.format !== 'canonical' && parsed.format !== 'none') note({ kind: 'drift', format: parsed.format });
      for (const _ of parsed.problems) note({ kind: 'parse_failure', reason: 'unreadable_block' });
      const built = buildCalls(parsed.calls, offered, opts.schemas, opts.schemaMismatch, opts.newId ?? newCallId);
      for (const n of built.notes) note(n);
      state.problems.push(...parsed.problems, ...built.problems);
      takeCalls(built.calls, state.calls);
      return 'calls';
    };
    const onAnswer = (segments: Segment[]): void => {
      for (const seg of segments) {
        const use = seg.kind === 'text' ? 'text' : useBlock(seg);
        if (use === 'dropped') continue;
        if (use === 'calls') {
          state.blockSeen = true;
          for (const call of state.calls.splice(0)) {
            emitted++;
            out.push({ type: 'tool-call', call });
          }
          continue;
        }
        const text = seg.kind === 'text' ? seg.text : seg.raw;
        if (state.blockSeen) note({ kind: 'text_after_calls_dropped', chars: text.length });
        else if (jsonFormat) state.json += text;
        else if (visible) out.push({ type: 'text-delta', text });
      }
    };
    const onReasoning = (segments: Segment[]): void => {
      for (const seg of segments) {
        if (seg.kind === 'block') {
          const parsed = parseBlock(seg.raw);
          if (parsed.callShaped) {
            if (offered.length > 0 && seg.closed) takeCalls(buildCalls(parsed.calls, offered, opts.schemas, opts.schemaMismatch, opts.newId ?? newCallId).calls, state.reasoningCalls);
            continue;
          }
        }
        const text = seg.kind === 'text' ? seg.text : seg.raw;
        if (visible && text) out.push({ type: 'reasoning-delta', text });
      }
    };

    let finished = false;
    for await (const ev of events) {
      switch (ev.type) {
        case 'meta':
          if (ev.chatId) position.chatId = ev.chatId;
          if (ev.assistantMessageId) position.assistantMessageId = ev.assistantMessageId;
          yield ev;
          break;
        case 'text-delta':
          onAnswer(answer.push(ev.text));
          break;
        case 'text-replace':
          // Rare (an upstream block rewritten); handled as new text when nothing is captured.
          if (visible && !jsonFormat && !state.blockSeen && !answer.capturing) {
            onAnswer(answer.end());
            out.push(ev);
          } else if (jsonFormat && state.json.endsWith(ev.previous)) {
            state.json = state.json.slice(0, state.json.length - ev.previous.length) + ev.text;
          }
          break;
        case 'reasoning-delta':
          onReasoning(reasoning.push(ev.text));
          break;
        case 'citation':
        case 'search':
          if (visible) yield ev;
          break;
        case 'heartbeat':
          yield ev;
          break;
        case 'tool-call':
          yield ev;
          break;
        case 'finish':
          state.finish = ev.reason;
          finished = true;
          break;
      }
      for (const e of out.splice(0)) yield e;
      if (finished) break;
    }
    if (!finished) throw new ProxyError('upstream_protocol_error', 'The upstream stream ended without a finish event.');
    onReasoning(reasoning.end());
    onAnswer(answer.end());
    if (emitted === 0 && state.reasoningCalls.length > 0) {
      note({ kind: 'drift', format: 'in_reasoning' });
      for (const call of state.reasoningCalls) {
        emitted++;
        out.push({ type: 'tool-call', call });
      }
    }
    for (const e of out.splice(0)) yield e;

    if (emitted > 0) {
      yield { type: 'finish', reason: 'tool_calls' };
      return;
    }
    let repair: string | undefined;
    let failure: ProxyError | undefined;
    if (state.problems.length > 0 && state.finish !== 'length') {
      repair = `Your function call could not be used: ${state.problems.join('; ')}. Reply with only the corrected ${CALLS_OPEN} block, in the format and with the functions from the instructions.`;
      failure = new ProxyError('invalid_tool_call', `The model's function call could not be used: ${state.problems.join('; ')}.`);
    } else if (mustCall && state.finish !== 'length') {
      const which = opts.tools?.choice.kind === 'function' ? `the function "${opts.tools.choice.name}"` : 'at least one function';
      repair = `You must call ${which} now. Reply with only a ${CALLS_OPEN} block in the format from the instructions.`;
      failure = new ProxyError('missing_tool_call', `tool_choice requires ${which === 'at least one function' ? 'a function call' : which}, and the model made none.`, { param: 'tool_choice' });
    } else if (jsonFormat && state.finish !== 'length') {
      const result = extractJson(state.json, jsonFormat, opts.schemas);
      if (result.ok) {
        yield { type: 'text-delta', text: result.json };
        yield { type: 'finish', reason: state.finish };
        return;
      }
      note({ kind: 'parse_failure', reason: 'invalid_json_output' });
      repair = `Your reply is not valid for the requested output format: ${result.problems.join('; ')}. Reply with only the corrected JSON value, no prose and no code fence.`;
      failure = new ProxyError('invalid_json_output', `The model's reply is not valid JSON for the requested response_format: ${result.problems.join('; ')}.`, { param: 'response_format' });
    }
    if (!repair) {
      if (jsonFormat && state.json) yield { type: 'text-delta', text: state.json };
      yield { type: 'finish', reason: state.finish };
      return;
    }
    if (attempt >= opts.repairTurns || !position.chatId) throw failure!;
    note({ kind: 'repair_turn', reason: failure!.code as RepairReason });
    events = await opts.followUp(repair, { ...position });
  }
}

/**
 * A fenced json block, or a bare JSON value the reply started with, is a call only when it
 * names an offered function (a bare value must also carry arguments: an answer that merely
 * has a `name` stays an answer).
 */
function jsonValueCalls(seg: Extract<Segment, { kind: 'json-fence' | 'json-bare' }>, offered: readonly ToolSpec[]): ParsedBlock {
  const fenced = seg.kind === 'json-fence';
  const body = fenced ? seg.raw.replace(/^[^\n]*\n/, '').replace(/\n?[ \t]*(?:`{3,}|~{3,})[ \t]*\n?$/, '') : seg.raw;
  const parsed = parseJsonLoose(body.trim());
  const calls = parsed ? callsFromJson(parsed.value, !fenced) : [];
  const named = calls.length > 0 && calls.every((c) => resolveToolName(c.name, offered) !== undefined);
  return { calls: named ? calls : [], format: fenced ? 'json_fence' : 'json_bare', callShaped: named, problems: [] };
}
