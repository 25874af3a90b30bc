/**
 * The tokens of the tool-call dialect (docs/tools.md) and the escaping that keeps client text
 * from closing one of our wrappers or forging a call.
 *
 * Canonical form (what the prompt teaches and what history is re-rendered in):
 *   <|KP|tool_calls> <|KP|invoke name="…"> <|KP|parameter name="…">value</|KP|parameter> </|KP|invoke> </|KP|tool_calls>
 *   <|KP|tool_result call_id="…" name="…"> data </|KP|tool_result>
 * The `|KP|` prefix is distinctive, so ordinary text and code never contain it; the local
 * names (`invoke`, `parameter`) are the ones Kimi K2 already produces on its own.
 */

export const P = '<|KP|';
export const PC = '</|KP|';
export const CALLS_OPEN = `${P}tool_calls>`;
export const CALLS_CLOSE = `${PC}tool_calls>`;
export const INVOKE_CLOSE = `${PC}invoke>`;
export const PARAM_CLOSE = `${PC}parameter>`;
export const RESULT_CLOSE = `${PC}tool_result>`;

export const invokeOpen = (name: string): string => `${P}invoke name="${attr(name)}">`;
export const paramOpen = (name: string): string => `${P}parameter name="${attr(name)}">`;
export const resultOpen = (callId: string, name: string): string => `${P}tool_result call_id="${attr(callId)}" name="${attr(name)}">`;

/** Attribute values never contain a quote or angle bracket (names and ids are plain identifiers). */
function attr(v: string): string {
  return v.replace(/["<>\n\r]/g, '_');
}

/**
 * Markers the stream parser treats as the start of a call block outside fenced code, in lower
 * case: our wrapper and its reported drifts (other prefixes, singular/plural, `function_calls`),
 * a bare invoke without its wrapper, Kimi K2's and K3's native markup, the bracket dialect.
 */
export const START_MARKERS: readonly string[] = (() => {
  const prefixes = ['<|kp|', '<｜kp｜', '<|', '<', '<kp_'];
  const names = ['tool_calls>', 'tool_call>', 'function_calls>', 'function_call>'];
  const out = new Set<string>();
  for (const p of prefixes) for (const n of names) out.add(p + n);
  for (const m of [
    '<|kp|invoke ',
    '<｜kp｜invoke ',
    '<|invoke ',
    '<invoke name=',
    '<|tool_calls_section_begin|>',
    '<|tool_call_section_begin|>',
    '<|tool_call_begin|>',
    '[function_calls]',
    '[call:',
    // Kimi K3's native "XTML" markup: a tools section, or a call without it.
    '<|open|>tools<|sep|>',
    '<|open|>call ',
  ])
    out.add(m);
  return [...out];
})();

export const MAX_START_MARKER = Math.max(...START_MARKERS.map((m) => m.length));

/** Ends of a call block (any drift); searched outside CDATA sections only. */
export const BLOCK_END_RE = /<\/\s*(?:[|｜]\s*kp\s*[|｜]|[|｜]|kp_)?\s*(?:tool_calls?|function_calls?)\s*>|<\|tool_calls?_section_end\|>|\[\/function_calls\]|<\|close\|>tools<\|sep\|>/i;
export const MAX_BLOCK_END = 64;

/**
 * Client text (system, user, earlier assistant text, tool results) could contain our markers,
 * copied from a file or a web page. A zero-width joiner after the first character breaks each
 * one for the parser and for the model, so such text can neither close a wrapper nor be echoed
 * back as a call.
 */
const ESCAPE_RE = /([|｜])(\s*kp\s*[|｜])|(<)(\/?\s*(?:tool_calls?|function_calls?|invoke|parameter|kp_|\|tool_calls?_section|\|tool_call_begin|\|(?:open|close|sep))(?=[\s>|_=]))|(\[)(\/?function_calls\]|call:)/gi;
const ZWJ = '\u200d';

export function escapeMarkers(text: string): string {
  if (!/kp|<|\[/i.test(text)) return text;
  return text.replace(ESCAPE_RE, (_m, a?: string, b?: string, c?: string, d?: string, e?: string, f?: string) =>
    a !== undefined ? a + ZWJ + b! : c !== undefined ? c + ZWJ + d! : e! + ZWJ + f!,
  );
}
