/**
 * What the tool emulation reports about each turn, for logs and metrics. Every field is one
 * of a fixed set of words: never a function name, an argument or any other client content.
 */
import type { BlockFormat } from './parse-block.js';

/** The forms a call reached the proxy in, other than the canonical dialect. */
export type DriftFormat = Exclude<BlockFormat, 'canonical' | 'none'> | 'in_reasoning';

export type ParseFailure =
  /** The call names no offered function. */
  | 'unknown_tool'
  /** Its arguments are not a JSON object, or a typed value is no JSON literal. */
  | 'bad_arguments'
  /** Call markup with nothing readable in it (an invoke with neither parameters nor JSON). */
  | 'unreadable_block'
  /** A call block cut by the length limit. */
  | 'cut_by_length'
  /** A `response_format` answer that is no valid JSON for it. */
  | 'invalid_json_output';

export type RepairReason = 'invalid_tool_call' | 'missing_tool_call' | 'invalid_json_output';

export type ToolNote =
  | { kind: 'drift'; format: DriftFormat }
  | { kind: 'parse_failure'; reason: ParseFailure }
  /** Arguments that fail the function's schema: forwarded to the client, or refused (repair policy, strict tools). */
  | { kind: 'schema_mismatch'; action: 'forwarded' | 'refused' }
  | { kind: 'repair_turn'; reason: RepairReason }
  /** Call markup while no function is offered (tool_choice none): removed from the answer. */
  | { kind: 'call_ignored' }
  /** Text the model wrote after its call block (dropped); `chars` is its length. */
  | { kind: 'text_after_calls_dropped'; chars: number };

export type ToolNoteSink = (note: ToolNote) => void;
