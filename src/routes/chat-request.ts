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
