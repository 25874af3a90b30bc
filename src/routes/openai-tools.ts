/**
 * OpenAI chat-completions request fields → the neutral tool types (core/tool-spec.ts):
 * `tools` (function tools; hosted `web_search` turns Kimi's own search on; other kinds are
 * accepted and ignored), `tool_choice`, `parallel_tool_calls`, the legacy `functions` /
 * `function_call`, and `response_format`. Only the shape is checked here; schemas are
 * compiled and names matched in the core (tools/tool-request.ts).
 */
import { ProxyError } from '../core/errors.js';
import type { JsonSchema, ResponseFormat, ToolChoice, ToolRequest, ToolSpec } from '../core/tool-spec.js';
import type { ChatRequestBody } from './chat-request.js';

export interface OpenAIToolFields {
  tools?: ToolRequest;
  responseFormat?: ResponseFormat;
  /** A hosted `web_search` tool was offered: Kimi's own search is turned on. */
  webSearch: boolean;
  /** The request used the legacy `functions` API: answer with `function_call`. */
  legacyFunctions: boolean;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const NAME_RE = /^[A-Za-z0-9_.:-]{1,128}$/;

function fail(param: string, message: string): never {
  throw new ProxyError('invalid_request', `${param}: ${message}`, { param });
}

function functionSpec(fn: unknown, param: string, strictFromTool?: unknown): ToolSpec {
  if (!isObj(fn)) fail(param, 'expected a function object with a name.');
  const name = fn.name;
  if (typeof name !== 'string' || !NAME_RE.test(name)) fail(`${param}.name`, 'expected a function name of 1-128 letters, digits, "_", "-", "." or ":".');
  const params = fn.parameters ?? { type: 'object', properties: {} };
  if (!isObj(params)) fail(`${param}.parameters`, 'expected a JSON Schema object.');
  const spec: ToolSpec = { name, parameters: params as JsonSchema };
  if (typeof fn.description === 'string' && fn.description) spec.description = fn.description;
  const strict = fn.strict ?? strictFromTool;
  if (strict === true) spec.strict = true;
  return spec;
}

function choiceFrom(v: unknown, legacy: boolean): ToolChoice {
  const param = legacy ? 'function_call' : 'tool_choice';
  if (v === undefined || v === null || v === 'auto') return { kind: 'auto' };
  if (v === 'none') return { kind: 'none' };
  if (v === 'required' || v === 'any') return { kind: 'required' };
  if (isObj(v)) {
    const name = legacy ? v.name : isObj(v.function) ? v.function.name : v.name;
    if (typeof name === 'string' && name) return { kind: 'function', name };
  }
  return fail(param, legacy ? 'expected "auto", "none" or {"name": …}.' : 'expected "auto", "none", "required" or {"type":"function","function":{"name":…}}.');
}

function responseFormatFrom(v: unknown): ResponseFormat | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v) || typeof v.type !== 'string') fail('response_format', 'expected {"type": "text" | "json_object" | "json_schema", …}.');
  if (v.type === 'text') return undefined;
  if (v.type === 'json_object') return { kind: 'json_object' };
  if (v.type === 'json_schema') {
    const js = v.json_schema;
    if (!isObj(js)) fail('response_format.json_schema', 'expected {"name": …, "schema": {…}}.');
    const schema = js.schema ?? { type: 'object' };
    if (!isObj(schema)) fail('response_format.json_schema.schema', 'expected a JSON Schema object.');
    return { kind: 'json_schema', name: typeof js.name === 'string' ? js.name : 'response', schema: schema as JsonSchema, ...(js.strict === true ? { strict: true } : {}) };
  }
  return fail('response_format.type', `"${v.type.slice(0, 40)}" is not one of text, json_object, json_schema.`);
}

export function openAIToolFields(req: ChatRequestBody): OpenAIToolFields {
  const specs: ToolSpec[] = [];
  let webSearch = false;
  (req.tools ?? []).forEach((t, i) => {
    if (!isObj(t)) fail(`tools[${i}]`, 'expected a tool object.');
    if (t.type === 'function' || (t.type === undefined && isObj(t.function))) specs.push(functionSpec(t.function, `tools[${i}].function`, t.strict));
    else if (typeof t.type === 'string' && /^web_search/.test(t.type)) webSearch = true;
    // Other tool kinds (hosted tools, namespaces, custom) have nothing to run them here: ignored, see docs/tools.md.
  });
  const legacyFunctions = specs.length === 0 && (req.functions?.length ?? 0) > 0;
  if (legacyFunctions) req.functions!.forEach((f, i) => specs.push(functionSpec(f, `functions[${i}]`)));

  const out: OpenAIToolFields = { webSearch, legacyFunctions };
  const choiceField = legacyFunctions ? req.function_call : req.tool_choice;
  const choice = choiceFrom(choiceField, legacyFunctions);
  if (specs.length > 0) {
    out.tools = { tools: specs, choice, parallel: legacyFunctions ? false : req.parallel_tool_calls !== false };
  } else if (choice.kind === 'function' || choice.kind === 'required') {
    fail(legacyFunctions ? 'function_call' : 'tool_choice', 'requires a function call, but no functions are offered.');
  }
  const format = responseFormatFrom(req.response_format);
  if (format) out.responseFormat = format;
  return out;
}
