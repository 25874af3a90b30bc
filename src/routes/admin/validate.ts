/** Request validation for the admin API: zod schemas, errors as 400 invalid_request naming the field. */
import { z } from 'zod';
import { ProxyError } from '../../core/errors.js';

function describe(error: z.ZodError): { message: string; param: string | null } {
  const parts = error.issues.map((i) => {
    const where = i.path.map(String).join('.');
    const keys = i.code === 'unrecognized_keys' ? ` (${i.keys.join(', ')})` : '';
    return `${where ? `${where}: ` : ''}${i.message}${keys}`;
  });
  const first = error.issues[0]?.path.map(String).join('.');
  return { message: parts.join('; '), param: first ? first : null };
}

/** Parses a JSON body (an empty body counts as `{}`); throws 400 with every problem listed. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const { message, param } = describe(parsed.error);
  throw new ProxyError('invalid_request', `Invalid request body: ${message}`, { param });
}

export function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.output<T> {
  const parsed = schema.safeParse(query ?? {});
  if (parsed.success) return parsed.data;
  const { message, param } = describe(parsed.error);
  throw new ProxyError('invalid_request', `Invalid query: ${message}`, { param });
}

/** Unix seconds from epoch ms (the unit of every `*_at` field the API returns). */
export const seconds = (ms: number | undefined): number | null => (ms === undefined ? null : Math.floor(ms / 1000));

/** An integer from `min` to `max`, with one message for every way a value can miss. */
export const intIn = (min: number, max: number) => {
  const error = `expected an integer from ${min} to ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

/** The same for query strings ("20" → 20). */
export const queryIntIn = (min: number, max: number) => {
  const error = `expected an integer from ${min} to ${max}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};
