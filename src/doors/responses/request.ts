/**
 * The OpenAI Responses request as this proxy reads it. Unknown fields are accepted and
 * ignored (Codex adds new ones often); the ones that matter are validated with errors that
 * name the field. Input items are checked one by one in to-neutral.ts.
 */
import { z } from 'zod';

const item = z.looseObject({ type: z.string().nullish(), role: z.string().nullish() });

const tool = z.looseObject({
  type: z.string({ error: 'expected a tool type string' }),
  name: z.string().max(200).nullish(),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
  tools: z.array(z.looseObject({ type: z.string().nullish(), name: z.string().max(200).nullish() })).nullish(),
});

const toolChoice = z.union([
  z.enum(['auto', 'none', 'required'], { error: 'expected auto, none, required or an object' }),
  z.looseObject({ type: z.string(), name: z.string().nullish() }),
]);

const format = z.looseObject({
  type: z.enum(['text', 'json_object', 'json_schema'], { error: 'expected text, json_object or json_schema' }),
  name: z.string().nullish(),
  schema: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

export const responsesRequestSchema = z.looseObject({
  model: z.string({ error: 'expected a model id string' }).min(1, 'must not be empty').max(200),
  input: z.union([z.string(), z.array(item).max(10_000)], { error: 'expected a string or an array of input items' }),
  instructions: z.string().nullish(),
  stream: z.boolean().nullish(),
  store: z.boolean().nullish(),
  previous_response_id: z.string().max(200).nullish(),
  tools: z.array(tool, { error: 'expected an array of tools' }).nullish(),
  tool_choice: toolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.looseObject({ format: format.nullish(), verbosity: z.string().nullish() }).nullish(),
  reasoning: z.looseObject({ effort: z.string().max(20).nullish(), summary: z.string().nullish() }).nullish(),
  max_output_tokens: z.number().int('must be an integer').min(1, 'must be at least 1').nullish(),
  prompt_cache_key: z.string().max(500).nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  include: z.array(z.string()).nullish(),
  background: z.boolean().nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
});

export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;
export type InputItem = z.infer<typeof item>;
export type ResponsesTool = z.infer<typeof tool>;
