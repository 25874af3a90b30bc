/**
 * The neutral description of the functions a client offers and how it wants them used.
 * Every front door (OpenAI chat, Anthropic Messages, Responses) turns its own wire fields
 * into these; the tool pipeline reads only these.
 */

/** A JSON Schema object as the client sent it (validated and compiled by the tool pipeline). */
export type JsonSchema = Record<string, unknown>;

export interface ToolSpec {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object; `{type:"object"}` when the client gave none. */
  parameters: JsonSchema;
  /** OpenAI `strict` / Anthropic strict tools: arguments must validate exactly. */
  strict?: boolean;
  /**
   * Responses `custom` tools (Codex's apply_patch among them) take one free-form string
   * instead of a JSON object.
   */
  freeform?: boolean;
}

export type ToolChoice =
  | { kind: 'auto' }
  | { kind: 'none' }
  /** OpenAI `required`, Anthropic `any`: at least one call. */
  | { kind: 'required' }
  /** One named function must be called. */
  | { kind: 'function'; name: string };

export type ResponseFormat =
  | { kind: 'text' }
  | { kind: 'json_object' }
  | { kind: 'json_schema'; name: string; schema: JsonSchema; strict?: boolean };

/** What a request asks of the tool pipeline; absent when it offers no functions and wants free text. */
export interface ToolRequest {
  tools: ToolSpec[];
  choice: ToolChoice;
  /** Several calls in one answer are allowed (OpenAI `parallel_tool_calls`, default true). */
  parallel: boolean;
}
