/**
 * The Anthropic Messages request as this proxy reads it. Unknown fields are accepted and
 * ignored (Claude Code adds new ones with almost every version); the ones that matter are
 * validated with errors that name the field.
 */
import { z } from 'zod';

const block = z.looseObject({ type: z.string({ error: 'expected a content block type string' }) });
const content = z.union([z.string(), z.array(block)], { error: 'expected a string or an array of content blocks' });

const message = z.looseObject({
  role: z.enum(['user', 'assistant', 'system'], { error: 'expected "user", "assistant" or "system"' }),
  content,
});

const tool = z.looseObject({
  name: z.string({ error: 'expected a tool name string' }).min(1, 'must not be empty').max(200),
  type: z.string().nullish(),
  description: z.string().nullish(),
  input_schema: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

const toolChoice = z.looseObject({
  type: z.enum(['auto', 'any', 'tool', 'none'], { error: 'expected auto, any, tool or none' }),
  name: z.string().nullish(),
  disable_parallel_tool_use: z.boolean().nullish(),
});

export const messagesRequestSchema = z.looseObject({
  model: z.string({ error: 'expected a model id string' }).min(1, 'must not be empty').max(200),
  messages: z.array(message, { error: 'expected an array of messages' }).min(1, 'must contain at least one message').max(10_000),
  system: content.nullish(),
  max_tokens: z.number().int('must be an integer').min(1, 'must be at least 1').nullish(),
  stream: z.boolean().nullish(),
  tools: z.array(tool, { error: 'expected an array of tools' }).nullish(),
  tool_choice: toolChoice.nullish(),
  thinking: z
    .looseObject({
      type: z.enum(['enabled', 'adaptive', 'disabled'], { error: 'expected enabled, adaptive or disabled' }),
      budget_tokens: z.number().int().nullish(),
      display: z.string().nullish(),
    })
    .nullish(),
  output_config: z.looseObject({ effort: z.string().max(20).nullish() }).nullish(),
  stop_sequences: z.array(z.string({ error: 'expected a string' }).max(1000, 'must be at most 1000 characters'), { error: 'expected an array of strings' }).max(64, 'must hold at most 64 sequences').nullish(),
  temperature: z.number().nullish(),
});

export type MessagesRequest = z.infer<typeof messagesRequestSchema>;
export type AnthropicBlock = z.infer<typeof block>;
/** The subset of the request `count_tokens` reads. */
export const countTokensRequestSchema = messagesRequestSchema.pick({ model: true, messages: true, system: true, tools: true, tool_choice: true, thinking: true });
