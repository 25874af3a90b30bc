/**
 * /admin/api/requests: the recent request log, newest first, paged with `before`, filtered
 * by key, account, model, status, error code and time; one entry by id. Entries hold no
 * message, token, key or cookie (see RequestLogEntry), only names, codes and timings.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ProxyError } from '../../core/errors.js';
import { requestLogView } from '../../core/request-log-entry.js';
import type { RequestLogEntry, Store } from '../../store/store.js';
import { scanRequestLog } from './log-scan.js';
import { requestSchema } from './openapi.js';
import { answers, array, bool, idParam, int, list, object, oneOf, orNull, str } from './schema-parts.js';
import { parseQuery, queryIntIn } from './validate.js';

/** Entries one filtered call looks through at most. */
const SCAN_MAX = 20_000;

const text = z.string().trim().min(1).max(200).optional();
const query = z.object({
  limit: queryIntIn(1, 500).default(50).describe('Entries per page.'),
  before: queryIntIn(0, Number.MAX_SAFE_INTEGER).optional().describe('Epoch ms: only entries logged before this (the next_before of the previous page).'),
  since: queryIntIn(0, Number.MAX_SAFE_INTEGER).optional().describe('Epoch ms: only entries logged at or after this.'),
  key: text.describe('Only requests made with the key of this name.'),
  account: text.describe('Only requests served by the account of this name.'),
  model: text.describe('Only requests for this model.'),
  status: z
    .string()
    .regex(/^(?:[1-5]\d\d|[1-5]xx)$/i, { error: 'expected a status such as 429 or a class such as 4xx' })
    .optional()
    .describe('Only this status (429) or class (4xx).'),
  error_code: text.describe("Only requests that failed with this code (the proxy's or Kimi's)."),
  auxiliary: z
    .string()
    .regex(/^(?:true|false|title|tags|follow-ups|queries)$/, { error: 'expected true, false, title, tags, follow-ups or queries' })
    .optional()
    .describe("true: only clients' background calls (titles, tags…); false: only the others; a task name: only that task."),
});

const entry = object('One request (names, codes and timings only: never a message, token, key or cookie).', {
  id: str('The entry id.'),
  at: int('When it was logged (epoch ms).'),
  request_id: str('The request id (x-request-id).'),
  key_name: orNull(str('The name of the API key used.')),
  model: orNull(str('The model asked for.')),
  account_name: orNull(str('The account that served it.')),
  protocol: orNull(oneOf(['rest', 'connect'], 'The upstream protocol.')),
  conversation_id: orNull(str('The conversation, when stateful.')),
  stream: bool('Whether the answer was streamed.'),
  status: int('The HTTP status answered.'),
  ttfb_ms: orNull(int('Time to the first byte of the answer, in ms.')),
  duration_ms: int('Time to the end of the answer, in ms.'),
  prompt_tokens: orNull(int('Estimated prompt tokens.')),
  completion_tokens: orNull(int('Estimated completion tokens.')),
  error_code: orNull(str("The proxy's error code, when it failed.")),
  upstream_code: orNull(str("Kimi's own code or reason, when it gave one.")),
  failed_attempts: array(
    object(
      'One upstream attempt that failed before the answer.',
      {
        account: str('The account it failed on (absent when no account could be leased).'),
        code: str('Its error code.'),
        next: oneOf(['retry', 'failover', 'migrate', 'stop'], 'What followed: the same account again, the next account, the conversation rebuilt on another account, or nothing (it became the answer).'),
      },
      ['account'],
    ),
    'The failed upstream attempts, in order (empty when the first attempt answered).',
  ),
  auxiliary: orNull(oneOf(['title', 'tags', 'follow-ups', 'queries'], "A client's background call answered the cheap way: its task.")),
});

function matcher(q: z.output<typeof query>): ((e: RequestLogEntry) => boolean) | undefined {
  const tests: Array<(e: RequestLogEntry) => boolean> = [];
  if (q.key) tests.push((e) => e.keyName === q.key);
  if (q.account) tests.push((e) => e.accountName === q.account);
  if (q.model) tests.push((e) => e.model === q.model);
  if (q.error_code) tests.push((e) => e.errorCode === q.error_code || e.upstreamCode === q.error_code);
  if (q.auxiliary) {
    const a = q.auxiliary;
    tests.push(a === 'true' ? (e) => e.auxiliary !== undefined : a === 'false' ? (e) => e.auxiliary === undefined : (e) => e.auxiliary === a);
  }
  if (q.status) {
    const s = q.status.toLowerCase();
    tests.push(s.endsWith('xx') ? (e) => Math.floor(e.status / 100) === Number(s[0]) : (e) => e.status === Number(s));
  }
  return tests.length === 0 ? undefined : (e) => tests.every((t) => t(e));
}

export interface RequestLogAdminDeps {
  store: Pick<Store, 'listRequestLog'>;
}

export function registerRequestLogAdmin(app: FastifyInstance, deps: RequestLogAdminDeps): void {
  const tags = ['requests'];
  const page = list(entry, 'A page of the request log, newest first.', { next_before: orNull(int('Pass as before for the next page; null on the last page.')) });
  app.get('/requests', { schema: { tags, summary: 'List the request log', querystring: requestSchema(query), response: answers(200, page) } }, async (request) => {
    const q = parseQuery(query, request.query);
    const keep = matcher(q);
    const { entries, more } = await scanRequestLog(deps.store, {
      since: q.since ?? 0,
      ...(q.before !== undefined ? { before: q.before } : {}),
      max: keep ? SCAN_MAX : q.limit,
      want: q.limit,
      ...(keep ? { keep } : {}),
    });
    const last = entries.at(-1);
    const full = entries.length === q.limit || more;
    return { object: 'list', data: entries.map(requestLogView), next_before: full && last ? last.at : null };
  });

  const params = idParam('The entry id or the request id.');
  app.get('/requests/:id', { schema: { tags, summary: 'Show one request', params, response: answers(200, entry) } }, async (request) => {
    const { id } = request.params as { id: string };
    const { entries } = await scanRequestLog(deps.store, { since: 0, max: SCAN_MAX, keep: (e) => e.id === id || e.requestId === id, want: 1 });
    if (!entries[0]) throw new ProxyError('not_found', `No request "${id}" in the request log.`, { param: 'id' });
    return requestLogView(entries[0]);
  });
}
