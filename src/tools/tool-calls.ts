/**
 * From parsed raw calls to the `ToolCall`s a client receives: tolerant name resolution,
 * arguments typed by the tool's schema (values.ts), schema validation, fresh ids.
 */
import type { ToolCall } from '../core/chat-event.js';
import { randomAlnum } from '../core/ids.js';
import type { ToolSpec } from '../core/tool-spec.js';
import type { RawCall } from './parse-block.js';
import type { ToolNote } from './notes.js';
import type { SchemaCache } from './schema-cache.js';
import { ArgumentError, argumentsFromParams, parseJsonLoose } from './values.js';

export const newCallId = (): string => `call_${randomAlnum(24)}`;

const PREFIX_RE = /^(?:functions|function|default_api|tools?)[.:]/i;
const INDEX_SUFFIX_RE = /:\d+$/;

/**
 * The offered tool a model's name means: exact, then case-insensitive, then without the
 * `functions.` / `default_api:` prefixes and `:N` suffixes of native call ids.
 */
export function resolveToolName(name: string, tools: readonly ToolSpec[]): ToolSpec | undefined {
  const tryName = (n: string): ToolSpec | undefined => tools.find((t) => t.name === n) ?? tools.find((t) => t.name.toLowerCase() === n.toLowerCase());
  const trimmed = name.trim();
  return tryName(trimmed) ?? tryName(trimmed.replace(PREFIX_RE, '').replace(INDEX_SUFFIX_RE, '').trim());
}

export type SchemaMismatchPolicy = 'forward' | 'repair';

export interface BuiltCalls {
  calls: ToolCall[];
  /** Why some calls could not be used; non-empty means a repair turn is worth it. */
  problems: string[];
  /** The kind of each problem, and the schema mismatches (for metrics). */
  notes: ToolNote[];
}

function argumentsOf(call: RawCall, tool: ToolSpec): Record<string, unknown> {
  const { args } = call;
  if (args.kind === 'params') {
    if (tool.freeform) {
      const input = args.params.find((p) => p.name === 'input') ?? args.params[0];
      return { input: input ? (input.cdata ? input.value : input.value.replace(/^\r?\n|\r?\n$/g, '')) : '' };
    }
    return argumentsFromParams(tool.parameters, args.params);
  }
  let value: unknown;
  if (args.kind === 'value') value = args.value;
  else {
    const parsed = parseJsonLoose(args.text === '' ? '{}' : args.text);
    if (!parsed) throw new ArgumentError('the arguments are not a JSON object');
    value = parsed.value;
    // Some models double-encode: a JSON string holding the object.
    if (typeof value === 'string') value = parseJsonLoose(value)?.value;
  }
  if (value === null || value === undefined) value = {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ArgumentError('the arguments are not a JSON object');
  return value as Record<string, unknown>;
}

/**
 * Builds the calls of one block. An unknown tool or unreadable arguments is a problem (the
 * call is left out); arguments that fail the schema are a problem only when the policy (or
 * the tool's `strict`) says so, otherwise they are forwarded for the client to report.
 */
export function buildCalls(raw: RawCall[], tools: readonly ToolSpec[], schemas: SchemaCache, policy: SchemaMismatchPolicy, newId = newCallId): BuiltCalls {
  const out: BuiltCalls = { calls: [], problems: [], notes: [] };
  for (const call of raw) {
    const tool = resolveToolName(call.name, tools);
    if (!tool) {
      out.problems.push(`"${call.name.slice(0, 80)}" is not one of the offered tools (${tools.map((t) => t.name).join(', ')})`);
      out.notes.push({ kind: 'parse_failure', reason: 'unknown_tool' });
      continue;
    }
    let args: Record<string, unknown>;
    try {
      args = argumentsOf(call, tool);
    } catch (err) {
      if (!(err instanceof ArgumentError)) throw err;
      out.problems.push(`${tool.name}: ${err.message}`);
      out.notes.push({ kind: 'parse_failure', reason: 'bad_arguments' });
      continue;
    }
    if (!tool.freeform) {
      const check = schemas.check(tool.parameters, args);
      const refuse = policy === 'repair' || tool.strict === true;
      if (!check.ok) out.notes.push({ kind: 'schema_mismatch', action: refuse ? 'refused' : 'forwarded' });
      if (!check.ok && refuse) {
        out.problems.push(`${tool.name}: ${check.errors.join('; ')}`);
        continue;
      }
    }
    out.calls.push({ id: newId(), name: tool.name, arguments: JSON.stringify(args) });
  }
  return out;
}
