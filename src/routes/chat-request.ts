/**
 * The OpenAI chat-completions request as this proxy reads it. Unknown fields are accepted
 * and ignored (clients such as Cherry Studio break on strict servers); the ones that matter
 * are validated with errors that name the field.
 */
import { z } from 'zod';
import { ProxyError } from '../core/errors.js';
import { OPENAI_REASONING_EFFORTS } from '../models/model-table.js';

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

const SESSION_HEADERS = ['x-session-id', 'session-id', 'x-claude-code-session-id'];

/** The session id agent clients send with every step (opencode `x-session-id`, Codex `session-id`, `prompt_cache_key`). */
export function sessionHintFrom(headers: Record<string, string | string[] | undefined>, req: ChatRequestBody): string | undefined {
  for (const name of SESSION_HEADERS) {
    const v = headers[name];
    if (typeof v === 'string' && v.trim()) return `${name}:${v.trim().slice(0, 200)}`;
  }
  return req.prompt_cache_key ? `prompt_cache_key:${req.prompt_cache_key}` : undefined;
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
