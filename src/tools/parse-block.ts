/**
 * Reads the calls out of one captured call block, whatever dialect the model drifted into:
 * - ours and its drifts: `<…invoke name="x">` with `<…parameter name="k">value</…parameter>`
 *   (any or no prefix, `param`/`argument` for `parameter`, CDATA sections, missing closers);
 *   an invoke whose body is a JSON object instead of parameters;
 * - Kimi K2's native markup: `<|tool_call_begin|>functions.x:0<|tool_call_argument_begin|>{…}<|tool_call_end|>`;
 * - Kimi K3's native "XTML": `<|open|>call tool="x" index="1"<|sep|>` with
 *   `<|open|>argument key="k" type="string"<|sep|>value<|close|>argument<|sep|>` elements (or one
 *   `<|open|>json type="object"<|sep|>{…}<|close|>json<|sep|>`), `<|close|>call<|sep|>`;
 * - the bracket dialect: `[call:x]{…}[/call]`;
 * - JSON naming the tool: `{"name":"x","arguments":{…}}` (or an array of them), e.g. inside
 *   `<tool_call>` or a fenced json block.
 * Pure text work: names are resolved and arguments typed later (tool-calls.ts).
 */
import type { RawParam } from './values.js';
import { CALLS_OPEN } from './markers.js';
import { parseJsonLoose } from './values.js';

export type RawArgs = { kind: 'params'; params: RawParam[] } | { kind: 'json'; text: string } | { kind: 'value'; value: unknown };

export interface RawCall {
  name: string;
  args: RawArgs;
}

/** The dialect a block was written in (for drift metrics; never user content). */
export type BlockFormat = 'canonical' | 'xml_variant' | 'bare_invoke' | 'k2_native' | 'k3_xtml' | 'bracket' | 'json_tagged' | 'json_fence' | 'json_bare' | 'none';

export interface ParsedBlock {
  calls: RawCall[];
  format: BlockFormat;
  /** Something call-shaped was present (an invoke, a native or bracket call, JSON naming a tool). */
  callShaped: boolean;
  /** Problems that make a call unusable (for the repair prompt). */
  problems: string[];
}

const PFX = String.raw`(?:[|｜]\s*kp\s*[|｜]|[|｜]|kp_)?\s*`;
const INVOKE_OPEN = new RegExp(String.raw`<${PFX}invoke\s+name\s*=\s*["']([^"'<>]*)["'][^>]*>`, 'i');
const INVOKE_CLOSE = new RegExp(String.raw`<\/${PFX}invoke\s*>`, 'i');
const PARAM_OPEN = new RegExp(String.raw`<${PFX}(?:parameter|param|argument|arg)\s+(?:name|key)\s*=\s*["']([^"'<>]*)["'][^>]*>`, 'i');
const PARAM_CLOSE = new RegExp(String.raw`<\/${PFX}(?:parameter|param|argument|arg)\s*>`, 'i');
const WRAPPER_TAG = new RegExp(String.raw`<\/?${PFX}(?:tool_calls?|function_calls?)\s*>|<\|tool_calls?_section_(?:begin|end)\|>|\[\/?function_calls\]`, 'gi');
const CDATA_OPEN = '<![CDATA[';
const CDATA_CLOSE = ']]>';

/** Index of the first match of `re` at or after `from`, skipping CDATA sections; -1 when none. */
function findOutsideCdata(text: string, re: RegExp, from: number): { index: number; length: number } {
  let pos = from;
  for (;;) {
    const rest = text.slice(pos);
    const m = re.exec(rest);
    const cd = rest.indexOf(CDATA_OPEN);
    if (cd >= 0 && (!m || cd < m.index)) {
      const end = text.indexOf(CDATA_CLOSE, pos + cd + CDATA_OPEN.length);
      if (end < 0) return { index: -1, length: 0 };
      pos = end + CDATA_CLOSE.length;
      continue;
    }
    return m ? { index: pos + m.index, length: m[0].length } : { index: -1, length: 0 };
  }
}

/** A parameter value: one or more adjacent CDATA sections (verbatim), or raw text. */
function paramValue(raw: string): { value: string; cdata: boolean } {
  const t = raw.trim();
  if (!t.startsWith(CDATA_OPEN)) return { value: raw, cdata: false };
  let value = '';
  let rest = t;
  while (rest.startsWith(CDATA_OPEN)) {
    const end = rest.indexOf(CDATA_CLOSE, CDATA_OPEN.length);
    if (end < 0) return { value: value + rest.slice(CDATA_OPEN.length), cdata: true };
    value += rest.slice(CDATA_OPEN.length, end);
    rest = rest.slice(end + CDATA_CLOSE.length);
  }
  return rest.trim() === '' ? { value, cdata: true } : { value: raw, cdata: false };
}

function parseParams(body: string): RawParam[] | undefined {
  const params: RawParam[] = [];
  const openOnce = new RegExp(PARAM_OPEN.source, 'i');
  let pos = 0;
  for (;;) {
    const open = findOutsideCdata(body, openOnce, pos);
    if (open.index < 0) break;
    const m = openOnce.exec(body.slice(open.index))!;
    const start = open.index + open.length;
    const close = findOutsideCdata(body, PARAM_CLOSE, start);
    const next = findOutsideCdata(body, openOnce, start);
    // A missing closer ends the value at the next parameter (or the end of the invoke).
    const closed = close.index >= 0 && (next.index < 0 || close.index < next.index);
    const end = closed ? close.index : next.index >= 0 ? next.index : body.length;
    params.push({ name: m[1]!.trim(), ...paramValue(body.slice(start, end)) });
    pos = closed ? close.index + close.length : end;
  }
  return params.length > 0 ? params : undefined;
}

function parseInvokes(text: string, out: ParsedBlock): boolean {
  const openOnce = new RegExp(INVOKE_OPEN.source, 'i');
  const opens: Array<{ index: number; length: number; name: string }> = [];
  for (let pos = 0; ; ) {
    const o = findOutsideCdata(text, openOnce, pos);
    if (o.index < 0) break;
    opens.push({ index: o.index, length: o.length, name: openOnce.exec(text.slice(o.index))![1]!.trim() });
    pos = o.index + o.length;
  }
  if (opens.length === 0) return false;
  out.callShaped = true;
  out.format = text.startsWith(CALLS_OPEN) ? 'canonical' : /^<[^>]*invoke/i.test(text) ? 'bare_invoke' : 'xml_variant';
  opens.forEach((open, i) => {
    const start = open.index + open.length;
    const limit = i + 1 < opens.length ? opens[i + 1]!.index : text.length;
    const close = findOutsideCdata(text.slice(0, limit), INVOKE_CLOSE, start);
    const body = text.slice(start, close.index >= 0 ? close.index : limit);
    const { name } = open;
    const params = parseParams(body);
    if (params) out.calls.push({ name, args: { kind: 'params', params } });
    else if (body.trim().startsWith('{')) out.calls.push({ name, args: { kind: 'json', text: body.trim() } });
    else if (body.trim() === '') out.calls.push({ name, args: { kind: 'params', params: [] } });
    else out.problems.push(`the invoke of "${name}" has neither parameters nor a JSON object`);
  });
  return true;
}

const NATIVE_CALL = /<\|tool_call_begin\|>\s*([^<]*?)\s*<\|tool_call_argument_begin\|>([\s\S]*?)(?=<\|tool_call_end\|>|<\|tool_call_begin\|>|<\|tool_calls?_section_end\|>|$)/g;

function parseNative(text: string, out: ParsedBlock): boolean {
  let found = false;
  for (const m of text.matchAll(NATIVE_CALL)) {
    found = true;
    out.calls.push({ name: m[1]!, args: { kind: 'json', text: m[2]!.trim() } });
  }
  if (found) {
    out.callShaped = true;
    out.format = 'k2_native';
  }
  return found;
}

const XTML_CALL = /<\|open\|>call\b([^<]*?)<\|sep\|>([\s\S]*?)(?=<\|close\|>call<\|sep\|>|<\|open\|>call\b|<\|close\|>tools<\|sep\|>|$)/g;
const XTML_ARG = /<\|open\|>argument\b([^<]*?)<\|sep\|>([\s\S]*?)(?:<\|close\|>argument(?:<\|sep\|>)?|(?=<\|open\|>argument\b)|$)/g;
const XTML_JSON = /<\|open\|>json\b[^<]*?<\|sep\|>([\s\S]*?)(?:<\|close\|>json|$)/;

/** An attribute of an XTML element; K3 escapes `&`, `<`, `>` and quotes in them as XML does. */
function xtmlAttr(attrs: string, name: string): string | undefined {
  const m = new RegExp(String.raw`\b${name}\s*=\s*(?:"([^"]*)"|'([^']*)')`).exec(attrs);
  const v = m ? (m[1] ?? m[2]!) : undefined;
  return v?.replace(/&(amp|lt|gt|quot|apos);/g, (_e, n: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[n]!);
}

function parseXtml(text: string, out: ParsedBlock): boolean {
  let found = false;
  for (const m of text.matchAll(XTML_CALL)) {
    found = true;
    const name = xtmlAttr(m[1]!, 'tool') ?? xtmlAttr(m[1]!, 'name') ?? '';
    const body = m[2]!;
    const params: RawParam[] = [];
    for (const a of body.matchAll(XTML_ARG)) {
      const key = xtmlAttr(a[1]!, 'key') ?? xtmlAttr(a[1]!, 'name');
      const type = xtmlAttr(a[1]!, 'type');
      // K3 writes values exactly between its delimiters: no layout line breaks to drop.
      if (key !== undefined) params.push({ name: key, value: a[2]!, cdata: true, ...(type ? { typeHint: type } : {}) });
    }
    const json = XTML_JSON.exec(body);
    if (params.length > 0 || !json) out.calls.push({ name, args: { kind: 'params', params } });
    else out.calls.push({ name, args: { kind: 'json', text: json[1]!.trim() } });
  }
  if (found) {
    out.callShaped = true;
    out.format = 'k3_xtml';
  }
  return found;
}

const BRACKET_CALL = /\[call:\s*([^\]\n]+?)\s*\]([\s\S]*?)(?=\[\/call\]|\[call:|\[\/function_calls\]|$)/g;

function parseBracket(text: string, out: ParsedBlock): boolean {
  let found = false;
  for (const m of text.matchAll(BRACKET_CALL)) {
    found = true;
    out.calls.push({ name: m[1]!, args: { kind: 'json', text: m[2]!.trim() || '{}' } });
  }
  if (found) {
    out.callShaped = true;
    out.format = 'bracket';
  }
  return found;
}

const NAME_KEYS = ['name', 'tool', 'tool_name', 'function', 'recipient_name'];
const ARG_KEYS = ['arguments', 'parameters', 'args', 'input', 'params'];

/**
 * `{"name": …, "arguments": …}` or an array of them (a `function` key may itself hold
 * `{name, arguments}`, a `tool_calls` key the array). `requireArguments`: every call must
 * carry an arguments key, so that a JSON answer merely having a `name` is not read as a call.
 */
export function callsFromJson(value: unknown, requireArguments = false): RawCall[] {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const wrapped = (value as Record<string, unknown>).tool_calls ?? (value as Record<string, unknown>).tool_call;
    if (typeof wrapped === 'object' && wrapped !== null) value = wrapped;
  }
  const items = Array.isArray(value) ? value : [value];
  const calls: RawCall[] = [];
  for (const item of items) {
    if (typeof item !== 'object' || item === null) return [];
    let rec = item as Record<string, unknown>;
    if (typeof rec.function === 'object' && rec.function !== null) rec = rec.function as Record<string, unknown>;
    const nameKey = NAME_KEYS.find((k) => typeof rec[k] === 'string');
    if (!nameKey) return [];
    const argKey = ARG_KEYS.find((k) => k in rec);
    if (!argKey && requireArguments) return [];
    const args = argKey ? rec[argKey] : {};
    calls.push({ name: rec[nameKey] as string, args: typeof args === 'string' ? { kind: 'json', text: args } : { kind: 'value', value: args } });
  }
  return calls;
}

function stripFences(text: string): string {
  return text.replace(/^\s*(?:```|~~~)[^\n]*\n/, '').replace(/\n?(?:```|~~~)\s*$/, '');
}

function parseJsonCalls(text: string, out: ParsedBlock): boolean {
  const inner = stripFences(text.replace(WRAPPER_TAG, '').replace(/<\/?[|｜]?(?:kp[|｜])?tool_call>/gi, '')).trim();
  if (!/^[[{]/.test(inner)) return false;
  const parsed = parseJsonLoose(inner);
  if (!parsed) return false;
  const calls = callsFromJson(parsed.value);
  if (calls.length === 0) return false;
  out.callShaped = true;
  out.format = 'json_tagged';
  out.calls.push(...calls);
  return true;
}

export function parseBlock(text: string): ParsedBlock {
  const out: ParsedBlock = { calls: [], format: 'none', callShaped: false, problems: [] };
  if (parseInvokes(text, out) || parseNative(text, out) || parseXtml(text, out) || parseBracket(text, out)) return out;
  parseJsonCalls(text, out);
  return out;
}
