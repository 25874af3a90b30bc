/** A request's `input` as the list of items GET /v1/responses/{id}/input_items answers with (each with an id and a type). */
import { newItemId } from './response-object.js';
import type { ResponsesRequest } from './request.js';

export function inputItemsOf(input: ResponsesRequest['input']): Array<Record<string, unknown>> {
  if (typeof input === 'string') return [{ id: newItemId('msg'), type: 'message', role: 'user', content: [{ type: 'input_text', text: input }] }];
  return input.map((item) => {
    const out: Record<string, unknown> = { ...item };
    out.type ??= 'message';
    if (out.type === 'message' && typeof out.content === 'string') out.content = [{ type: out.role === 'assistant' ? 'output_text' : 'input_text', text: out.content }];
    if (typeof out.id !== 'string') out.id = newItemId('msg');
    return out;
  });
}

export interface ItemPage {
  object: 'list';
  data: Array<Record<string, unknown>>;
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

/** OpenAI's list parameters: `order` (desc by default), `limit` (20, at most 100), `after` (an item id). */
export function pageOf(items: Array<Record<string, unknown>>, query: { order?: unknown; limit?: unknown; after?: unknown }): ItemPage {
  const ordered = query.order === 'asc' ? items : [...items].reverse();
  const limit = Math.min(100, Math.max(1, Number.parseInt(String(query.limit ?? '20'), 10) || 20));
  const start = typeof query.after === 'string' ? ordered.findIndex((i) => i.id === query.after) + 1 : 0;
  const data = ordered.slice(start, start + limit);
  return { object: 'list', data, first_id: (data[0]?.id as string | undefined) ?? null, last_id: (data.at(-1)?.id as string | undefined) ?? null, has_more: start + limit < ordered.length };
}
