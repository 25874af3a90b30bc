/**
 * The emulator as a tool-calling model. Directives make it write calls in the proxy's
 * dialect (docs/tools.md) or in one of the drifts real models produce; when its latest input
 * is a tool result, it answers by quoting the result, so an agent loop ends and a test can
 * check the result arrived intact. This is model behaviour in plain text: nothing here
 * changes the Kimi wire format.
 */
import { flagDirective, intDirective, stringDirective, type Directives } from './directives.js';

export type CallForm = 'canonical' | 'nowrap' | 'renamed' | 'k2' | 'k3' | 'bracket' | 'fenced' | 'bare' | 'hermes';
const FORMS = new Set<CallForm>(['canonical', 'nowrap', 'renamed', 'k2', 'k3', 'bracket', 'fenced', 'bare', 'hermes']);

export interface PlannedCalls {
  /** Text before the block. */
  prose: string;
  block: string;
  /** Write the block in the thinking text instead of the answer. */
  inThinking: boolean;
}

interface Call {
  name: string;
  args: Record<string, unknown>;
}

function decodeArgs(d: Directives): unknown {
  const b64 = stringDirective(d, 'args64');
  const raw = b64 !== undefined ? Buffer.from(b64, 'base64url').toString('utf8') : stringDirective(d, 'args');
  if (raw === undefined) return {};
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return {};
  }
}

function callsFrom(d: Directives, names: string[]): Call[] {
  const args = decodeArgs(d);
  const lines = intDirective(d, 'long', 0);
  return names.map((name, i) => {
    const a = Array.isArray(args) ? args[i] : args;
    const obj: Record<string, unknown> = typeof a === 'object' && a !== null && !Array.isArray(a) ? { ...(a as Record<string, unknown>) } : {};
    if (lines > 0) obj.content = longText(lines);
    return { name, args: obj };
  });
}

/** A multi-line code argument with quotes, backslashes, tags and a CDATA end inside. */
export function longText(lines: number): string {
  return Array.from({ length: lines }, (_, i) => `  const line${i + 1} = "<tag a=\\"${i}\\">" + '\\n' + \`]]>\`; // ${'x'.repeat(i % 7)}`).join('\n') + '\n';
}

function literal(v: unknown, malformed: boolean): string {
  const json = JSON.stringify(v);
  if (!malformed) return json;
  // What a model gets wrong: single quotes and a trailing comma.
  if (Array.isArray(v)) return `${json.slice(0, -1).replace(/"/g, "'")},]`;
  if (typeof v === 'object' && v !== null) return `${json.slice(0, -1)},}`;
  return json;
}

function value(v: unknown, malformed: boolean): string {
  if (typeof v !== 'string') return literal(v, malformed);
  // Without CDATA a line break next to a tag is layout (docs/tools.md), so such values are wrapped too.
  return v.includes('</') || v.includes(']]>') || /^\r?\n|\r?\n$/.test(v) ? `<![CDATA[${v.replace(/]]>/g, ']]]]><![CDATA[>')}]]>` : v;
}

function xmlCalls(calls: Call[], p: string, malformed: boolean): string {
  return calls
    .map((c) => [`<${p}invoke name="${c.name}">`, ...Object.entries(c.args).map(([k, v]) => `<${p}parameter name="${k}">${value(v, malformed)}</${p}parameter>`), `</${p}invoke>`].join('\n'))
    .join('\n');
}

function jsonArgs(c: Call, malformed: boolean): string {
  return literal(c.args, malformed);
}

/** One call in Kimi K3's native XTML: each argument typed, strings raw. */
const xtmlCall =
  (malformed: boolean) =>
  (c: Call, i: number): string => {
    const args = Object.entries(c.args).map(([k, v]) => {
      const type = typeof v === 'string' ? 'string' : Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v;
      return `<|open|>argument key="${k}" type="${type}"<|sep|>${typeof v === 'string' ? v : literal(v, malformed)}<|close|>argument<|sep|>`;
    });
    return `<|open|>call tool="${c.name}" index="${i + 1}"<|sep|>${args.join('')}<|close|>call<|sep|>`;
  };

function jsonCalls(calls: Call[], malformed: boolean): string {
  const one = (c: Call): string => `{"name":${JSON.stringify(c.name)},"arguments":${jsonArgs(c, malformed)}}`;
  return calls.length === 1 ? one(calls[0]!) : `[${calls.map(one).join(',')}]`;
}

export function renderCalls(calls: Call[], form: CallForm, malformed: boolean): string {
  switch (form) {
    case 'nowrap':
      return xmlCalls(calls, '|KP|', malformed);
    case 'renamed':
      return `<tool_calls>\n${xmlCalls(calls, '', malformed)}\n</tool_calls>`;
    case 'k2':
      return `<|tool_calls_section_begin|>${calls.map((c, i) => `<|tool_call_begin|>functions.${c.name}:${i}<|tool_call_argument_begin|>${jsonArgs(c, malformed)}<|tool_call_end|>`).join('')}<|tool_calls_section_end|>`;
    case 'bracket':
      return `[function_calls]\n${calls.map((c) => `[call:${c.name}]${jsonArgs(c, malformed)}[/call]`).join('\n')}\n[/function_calls]`;
    case 'k3':
      return `<|open|>tools<|sep|>${calls.map(xtmlCall(malformed)).join('')}<|close|>tools<|sep|>`;
    case 'fenced':
      return `\`\`\`json\n${jsonCalls(calls, malformed)}\n\`\`\``;
    case 'bare':
      return jsonCalls(calls, malformed);
    case 'hermes':
      return calls.map((c) => `<tool_call>{"name":${JSON.stringify(c.name)},"arguments":${jsonArgs(c, malformed)}}</tool_call>`).join('\n');
    default:
      return `<|KP|tool_calls>\n${xmlCalls(calls, '|KP|', malformed)}\n</|KP|tool_calls>`;
  }
}

/**
 * `call=NAME[,NAME…]` with `args` / `args64` (a JSON object, or an array with one object per
 * call), `form`, `malformed`, `long=N`, `think_call`; `reply` is the text before the block.
 * `repair` says this turn is the proxy's repair request: the call comes out canonical and
 * well formed (named `fixcall` when given), unless `stubborn`.
 */
export function plannedCalls(d: Directives, repair: boolean): PlannedCalls | undefined {
  const list = stringDirective(d, 'call');
  if (!list) return undefined;
  const stubborn = flagDirective(d, 'stubborn');
  const fixed = repair && !stubborn;
  const fixName = stringDirective(d, 'fixcall');
  const names = list.split(',').map((n) => n.trim()).filter(Boolean).map((n) => (fixed && fixName ? fixName : n));
  const formName = stringDirective(d, 'form') as CallForm | undefined;
  const form: CallForm = !fixed && formName && FORMS.has(formName) ? formName : 'canonical';
  const block = renderCalls(callsFrom(d, names), form, !fixed && flagDirective(d, 'malformed'));
  // A bare JSON call is a call only as the whole reply.
  return { prose: fixed || form === 'bare' ? '' : (stringDirective(d, 'reply') ?? ''), block, inThinking: !fixed && flagDirective(d, 'think_call') };
}

const RESULT_RE = /<\|KP\|tool_result call_id="([^"]*)" name="([^"]*)">\n(?:<\|KP\|arguments>[\s\S]*?<\/\|KP\|arguments>\n)?<\|KP\|output>\n([\s\S]*?)\n<\/\|KP\|output>\n<\/\|KP\|tool_result>/g;

/**
 * When the latest input is tool results (records after the last directive), the answer
 * quotes each: `Tool NAME (CALL_ID) returned: OUTPUT`.
 */
export function toolResultAnswer(text: string): string | undefined {
  const lastDirective = text.lastIndexOf('[[emu');
  const quotes: string[] = [];
  for (const m of text.matchAll(RESULT_RE)) {
    if (m.index > lastDirective) quotes.push(`Tool ${m[2]} (${m[1]}) returned: ${m[3]}`);
  }
  return quotes.length > 0 ? quotes.join('\n') : undefined;
}

/** The proxy's repair turn asks the model to "Reply with only" the corrected block or value. */
export const isRepairRequest = (text: string): boolean => !text.includes('[[emu') && text.includes('Reply with only');
