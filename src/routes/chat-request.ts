/**
 * The OpenAI chat-completions request as this proxy reads it. Unknown fields are accepted
 * and ignored (clients such as Cherry Studio break on strict servers); the ones that matter
 * are validated with errors that name the field.
 */
import { z } from 'zod';
import { ProxyError } from '../core/errors.js';
import { OPENAI_REASONING_EFFORTS } from '../models/model-table.js';
import type { OutputLimits } from '../render/output-limits.js';

const message = z.looseObject({
  role: z.string({ error: 'expected a string' }),
  content: z.unknown().optional(),
  name: z.unknown().optional(),
  // Accepted and not forwarded: earlier reasoning is not part of Kimi's input.
  reasoning_content: z.unknown().optional(),
  tool_calls: z.unknown().optional(),
  tool_call_id: z.unknown().optional(),
  function_call: z.unknown().optional(),
});

const optBool = z.boolean().nullish();

export const chatRequestSchema = z.looseObject({
  model: z.string({ error: 'expected a model id string' }).min(1, 'must not be empty').max(200),
  messages: z.array(message, { error: 'expected an array of messages' }).min(1, 'must contain at least one message').max(10_000),
  stream: optBool,
  stream_options: z.looseObject({ include_usage: optBool }).nullish(),
  n: z.number().int('must be an integer').nullish(),
  web_search: optBool,
  enable_search: optBool,
  // A typo must not silently become the default effort.
  reasoning_effort: z
    .string({ error: `expected one of ${OPENAI_REASONING_EFFORTS.join(', ')}` })
    .refine((v) => OPENAI_REASONING_EFFORTS.includes(v.toLowerCase()), {
      error: (i) => `expected one of ${OPENAI_REASONING_EFFORTS.join(', ')}, got ${JSON.stringify(String(i.input).slice(0, 40))}`,
    })
    .nullish(),
  enable_thinking: optBool,
  thinking: z.looseObject({ type: z.string().max(20).optional() }).nullish(),
  conversation_id: z.string().max(200).nullish(),
  web_search_options: z.unknown().optional(),
  // Function calling and structured output: read by routes/openai-tools.ts.
  tools: z.array(z.unknown(), { error: 'expected an array of tools' }).max(512).nullish(),
  tool_choice: z.unknown().optional(),
  parallel_tool_calls: optBool,
  functions: z.array(z.unknown(), { error: 'expected an array of functions' }).max(512).nullish(),
  function_call: z.unknown().optional(),
  response_format: z.unknown().optional(),
  // Output limits, applied by render/output-limits.ts (Kimi's web app has neither control).
  stop: z
    .union([z.string(), z.array(z.string({ error: 'expected a string' }).max(1000, 'must be at most 1000 characters')).max(64, 'must hold at most 64 sequences')], {
      error: 'expected a string or an array of strings',
    })
    .nullish(),
  max_tokens: z.number().int('must be an integer').min(1, 'must be at least 1').nullish(),
  max_completion_tokens: z.number().int('must be an integer').min(1, 'must be at least 1').nullish(),
  // Agent clients' session id (Qwen Code's Responses mode, Codex): scopes conversation reuse.
  prompt_cache_key: z.string().max(500).nullish(),
});

export type ChatRequestBody = z.infer<typeof chatRequestSchema>;

function issuePath(path: PropertyKey[]): string {
  return path.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${String(seg)}` : String(seg)), '');
}

export function parseChatRequest(body: unknown): ChatRequestBody {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ProxyError('invalid_request', 'The request body must be a JSON object.', { param: null });
  }
  const parsed = chatRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = issuePath(issue.path);
    throw new ProxyError('invalid_request', `Invalid request: ${param || 'body'}: ${issue.message}.`, { param: param || null });
  }
  const req = parsed.data;
  if (req.n !== undefined && req.n !== null && req.n !== 1) {
    throw new ProxyError('invalid_request', 'Only n = 1 is supported: Kimi returns one answer per request.', { param: 'n' });
  }
  return req;
}

/** Request-level thinking switch from the vendor fields clients send (Cherry Studio, Kimi API users). */
export function thinkingFromRequest(req: ChatRequestBody): boolean | undefined {
  if (typeof req.enable_thinking === 'boolean') return req.enable_thinking;
  const t = req.thinking?.type;
  if (t === 'enabled') return true;
  if (t === 'disabled') return false;
  return undefined;
}

/** Request-level search switch: `web_search`, DashScope-style `enable_search`, or OpenAI `web_search_options`. */
export function webSearchFromRequest(req: ChatRequestBody): boolean | undefined {
  if (typeof req.web_search === 'boolean') return req.web_search;
  if (typeof req.enable_search === 'boolean') return req.enable_search;
  if (req.web_search_options !== undefined && req.web_search_options !== null) return true;
  return undefined;
}

/** `stop` and `max_completion_tokens` (or the older `max_tokens`) as output limits. */
export function outputLimitsFrom(req: { stop?: string | string[] | null; max_tokens?: number | null; max_completion_tokens?: number | null }): OutputLimits | undefined {
  const stop = typeof req.stop === 'string' ? [req.stop] : (req.stop ?? []);
  const maxTokens = req.max_completion_tokens ?? req.max_tokens ?? undefined;
  if (stop.length === 0 && maxTokens === undefined) return undefined;
  return { ...(stop.length > 0 ? { stop } : {}), ...(maxTokens !== undefined ? { maxTokens } : {}) };
}
