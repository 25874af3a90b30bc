/** Validates a door's JSON body with its zod schema; the first problem becomes a 400 naming the field. */
import type { z } from 'zod';
import { ProxyError } from '../core/errors.js';

function issuePath(path: PropertyKey[]): string {
  return path.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${String(seg)}` : String(seg)), '');
}

export function parseWith<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ProxyError('invalid_request', 'The request body must be a JSON object.', { param: null });
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = issuePath(issue.path);
    throw new ProxyError('invalid_request', `${param || 'body'}: ${issue.message}.`, { param: param || null });
  }
  return parsed.data;
}
