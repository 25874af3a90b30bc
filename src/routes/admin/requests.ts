/**
 * /admin/api/requests: the recent request log, newest first, paged with `before`, filtered
 * by key, account, model, status, error code and time; one entry by id. Entries hold no
 * message, token, key or cookie (see RequestLogEntry), only names, codes and timings.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ProxyError } from '../../core/errors.js';
import type { AppServices } from '../../services.js';
import type { RequestLogEntry } from '../../store/store.js';
import { scanRequestLog } from './log-scan.js';
import { parseQuery, queryIntIn } from './validate.js';

/** Entries one filtered call looks through at most. */
const SCAN_MAX = 20_000;

const text = z.string().trim().min(1).max(200).optional();
const query = z.object({
  limit: queryIntIn(1, 500).default(50),
  /** Epoch ms: only entries logged before this (the `next_before` of the previous page). */
  before: queryIntIn(0, Number.MAX_SAFE_INTEGER).optional(),
  /** Epoch ms: only entries logged at or after this. */
  since: queryIntIn(0, Number.MAX_SAFE_INTEGER).optional(),
  key: text,
  account: text,
  model: text,
  /** An exact status (429) or a class (4xx). */
  status: z
    .string()
    .regex(/^(?:[1-5]\d\d|[1-5]xx)$/i, { error: 'expected a status such as 429 or a class such as 4xx' })
    .optional(),
  error_code: text,
});

function view(e: RequestLogEntry): Record<string, unknown> {
  return {
    id: e.id,
    at: e.at,
    request_id: e.requestId,
    key_name: e.keyName ?? null,
    model: e.model ?? null,
    account_name: e.accountName ?? null,
    protocol: e.protocol ?? null,
    conversation_id: e.conversationId ?? null,
    stream: e.stream,
    status: e.status,
    ttfb_ms: e.ttfbMs ?? null,
    duration_ms: e.durationMs,
    prompt_tokens: e.promptTokens ?? null,
    completion_tokens: e.completionTokens ?? null,
    error_code: e.errorCode ?? null,
    upstream_code: e.upstreamCode ?? null,
  };
}

function matcher(q: z.output<typeof query>): ((e: RequestLogEntry) => boolean) | undefined {
  const tests: Array<(e: RequestLogEntry) => boolean> = [];
  if (q.key) tests.push((e) => e.keyName === q.key);
  if (q.account) tests.push((e) => e.accountName === q.account);
  if (q.model) tests.push((e) => e.model === q.model);
  if (q.error_code) tests.push((e) => e.errorCode === q.error_code || e.upstreamCode === q.error_code);
  if (q.status) {
    const s = q.status.toLowerCase();
    tests.push(s.endsWith('xx') ? (e) => Math.floor(e.status / 100) === Number(s[0]) : (e) => e.status === Number(s));
  }
  return tests.length === 0 ? undefined : (e) => tests.every((t) => t(e));
}

export function registerRequestLogAdmin(app: FastifyInstance, services: AppServices): void {
  app.get('/requests', async (request) => {
    const q = parseQuery(query, request.query);
    const keep = matcher(q);
    const { entries, more } = await scanRequestLog(services.store, {
      since: q.since ?? 0,
      ...(q.before !== undefined ? { before: q.before } : {}),
      max: keep ? SCAN_MAX : q.limit,
      want: q.limit,
      ...(keep ? { keep } : {}),
    });
    const last = entries.at(-1);
    const full = entries.length === q.limit || more;
    return { object: 'list', data: entries.map(view), next_before: full && last ? last.at : null };
  });

  app.get('/requests/:id', async (request) => {
    const { id } = request.params as { id: string };
    const { entries } = await scanRequestLog(services.store, { since: 0, max: SCAN_MAX, keep: (e) => e.id === id || e.requestId === id, want: 1 });
    if (!entries[0]) throw new ProxyError('not_found', `No request "${id}" in the request log.`, { param: 'id' });
    return view(entries[0]);
  });
}
