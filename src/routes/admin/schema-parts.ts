/**
 * Building blocks of the admin routes' response schemas (OpenAPI 3.0 JSON Schema): typed,
 * described fields, objects, lists, path parameters and the error answer. They describe;
 * they never validate or filter (see openapi.ts).
 */

type Schema = Record<string, unknown>;

export const str = (description: string, extra: Schema = {}): Schema => ({ type: 'string', description, ...extra });
export const int = (description: string, extra: Schema = {}): Schema => ({ type: 'integer', description, ...extra });
export const num = (description: string): Schema => ({ type: 'number', description });
export const bool = (description: string): Schema => ({ type: 'boolean', description });
export const oneOf = (values: readonly string[], description: string): Schema => ({ type: 'string', enum: [...values], description });
/** The same field, null when unknown or not set. */
export const orNull = (field: Schema): Schema => ({ ...field, nullable: true });
/** A unix-seconds time, null when there is none. */
export const time = (description: string): Schema => orNull(int(`${description} (unix seconds).`));
export const constant = (value: string, description: string): Schema => ({ type: 'string', enum: [value], description });

/** An object with described fields; every field is always present unless named in `optional`. */
export const object = (description: string, properties: Record<string, Schema>, optional: readonly string[] = []): Schema => ({
  type: 'object',
  description,
  properties,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
});

export const array = (items: Schema, description: string): Schema => ({ type: 'array', items, description });

/** `{object: "list", data: [...]}` plus any paging fields. */
export const list = (items: Schema, description: string, paging: Record<string, Schema> = {}): Schema =>
  object(description, { object: constant('list', 'Always "list".'), data: array(items, 'The entries.'), ...paging });

/** The `:id` path parameter. */
export const idParam = (description: string): Schema => object('Path parameters.', { id: str(description) });

/** Every error answer: the OpenAI error shape. */
export const errorAnswer: Schema = object('An error, in the OpenAI error shape.', {
  error: object(
    'What went wrong.',
    {
      message: str('What went wrong and what to do, in words.'),
      type: str('The OpenAI error type (invalid_request_error, authentication_error, not_found_error, …).'),
      param: orNull(str('The request field at fault, when one is.')),
      code: str('The proxy\'s error code (invalid_request, invalid_admin_token, not_found, already_exists, …).'),
      request_id: str('The request id (also in x-request-id), naming the log line.'),
    },
    ['request_id'],
  ),
});

/** A route's responses: its success answer and the error answers. */
export const answers = (status: number, body: Schema): Schema => ({ [status]: body, '4xx': errorAnswer, '5xx': errorAnswer });

/** The usage counters of an API key. */
export const keyUsage: Schema = object('What the key was used for (since the store began keeping it).', {
  requests: int('Requests made with the key.'),
  prompt_tokens: int('Estimated prompt tokens.'),
  completion_tokens: int('Estimated completion tokens.'),
  last_used_at: time('Last use'),
});
