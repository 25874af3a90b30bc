/**
 * Checks what a request asks of the tool pipeline before anything goes upstream, in the
 * core, so every front door answers bad input the same way: a schema that does not compile
 * is a 400 naming the tool, a named `tool_choice` must name an offered function.
 */
import { ProxyError } from '../core/errors.js';
import type { ResponseFormat, ToolRequest } from '../core/tool-spec.js';
import { SchemaCompileError, type SchemaCache } from './schema-cache.js';

/** The offered functions: unique names, schemas that compile, a named choice among them. */
export function checkTools(tools: ToolRequest, schemas: SchemaCache): void {
  const seen = new Set<string>();
  tools.tools.forEach((tool, i) => {
    if (seen.has(tool.name)) throw new ProxyError('invalid_request', `tools[${i}]: the function name "${tool.name}" is offered twice.`, { param: `tools[${i}]` });
    seen.add(tool.name);
    if (tool.freeform) return;
    try {
      schemas.compile(tool.parameters);
    } catch (err) {
      if (!(err instanceof SchemaCompileError)) throw err;
      throw new ProxyError('invalid_request', `tools[${i}]: the parameters schema of function "${tool.name}" is not a valid JSON Schema: ${err.message}`, {
        param: `tools[${i}]`,
      });
    }
  });
  const { choice } = tools;
  if (choice.kind === 'function' && !seen.has(choice.name)) {
    throw new ProxyError('invalid_request', `tool_choice names the function "${choice.name}", which is not among the offered tools.`, { param: 'tool_choice' });
  }
  if ((choice.kind === 'required' || choice.kind === 'function') && tools.tools.length === 0) {
    throw new ProxyError('invalid_request', 'tool_choice requires a function call, but no tools are offered.', { param: 'tool_choice' });
  }
}

/** A `response_format` schema must compile. */
export function checkResponseFormat(format: ResponseFormat | undefined, schemas: SchemaCache): void {
  if (format?.kind !== 'json_schema') return;
  try {
    schemas.compile(format.schema);
  } catch (err) {
    if (!(err instanceof SchemaCompileError)) throw err;
    throw new ProxyError('invalid_request', `response_format: the schema "${format.name}" is not a valid JSON Schema: ${err.message}`, { param: 'response_format' });
  }
}
