/** The control surface: `emulator.control` and the same calls over HTTP under `/__emulator/`. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { parseJsonObject, sendJson } from './http-io.js';
import { QUOTA_SHAPES } from './quota.js';
import type { EmulatorState } from './state.js';
import { FAULT_NAMES, type EmulatorControl, type TokenFaultOptions } from './types.js';

export const CONTROL_PREFIX = '/__emulator/';

export function createControl(state: EmulatorState): EmulatorControl {
  return {
    stats: () => state.stats.snapshot(state.chats.size),
    reset: () => {
      state.stats.reset();
      state.faults.clear();
      state.tokens.clearInvalidations();
      state.catalogFailure = false;
      state.maxConcurrentPerAccount = null;
      state.quota.clear();
    },
    setTokenFault: (key, fault, options) => state.faults.set(key, fault, options),
    clearTokenFault: (key) => state.faults.clear(key),
    invalidateToken: (token) => state.tokens.invalidate(token),
    setCatalogFailure: (fail) => {
      state.catalogFailure = fail;
    },
    setMaxConcurrentPerAccount: (n) => {
      state.maxConcurrentPerAccount = n === null ? null : Math.max(0, Math.floor(n));
    },
    setQuota: (key, settings) => {
      const accountKey = state.tokens.accountKeyOf(key);
      if (settings === null) state.quota.clear(accountKey);
      else state.quota.set(accountKey, settings);
    },
    accountKeyOf: (token) => state.tokens.accountKeyOf(token),
  };
}

const tokenFaultBody = z.object({
  token: z.string().min(1),
  fault: z.enum(FAULT_NAMES),
  times: z.number().int().nonnegative().optional(),
  retryAfter: z.number().nonnegative().nullable().optional(),
  code: z.string().optional(),
  after: z.number().int().nonnegative().optional(),
});
const quotaBody = z.object({
  token: z.string().min(1),
  limit: z.number().int().nonnegative().nullable(),
  resetSec: z.number().positive().optional(),
  shape: z.enum(QUOTA_SHAPES).optional(),
});
const tokenBody = z.object({ token: z.string().min(1) });
const catalogBody = z.object({ fail: z.boolean() });
const maxConcurrentBody = z.object({ n: z.number().int().nonnegative().nullable() });

type Action = (control: EmulatorControl, body: Record<string, unknown>) => void;

const POST_ACTIONS: Record<string, Action> = {
  reset: (c) => c.reset(),
  'token-fault': (c, body) => {
    const b = tokenFaultBody.parse(body);
    const opts: TokenFaultOptions = {};
    if (b.times !== undefined) opts.times = b.times;
    if (b.retryAfter !== undefined) opts.retryAfter = b.retryAfter;
    if (b.code !== undefined) opts.code = b.code;
    if (b.after !== undefined) opts.after = b.after;
    c.setTokenFault(b.token, b.fault, opts);
  },
  'clear-token-fault': (c, body) => c.clearTokenFault(tokenBody.parse(body).token),
  invalidate: (c, body) => c.invalidateToken(tokenBody.parse(body).token),
  'catalog-failure': (c, body) => c.setCatalogFailure(catalogBody.parse(body).fail),
  quota: (c, body) => {
    const b = quotaBody.parse(body);
    c.setQuota(b.token, b.limit === null ? null : { limit: b.limit, resetSec: b.resetSec ?? 3 * 3600, ...(b.shape ? { shape: b.shape } : {}) });
  },
  'max-concurrent': (c, body) => c.setMaxConcurrentPerAccount(maxConcurrentBody.parse(body).n),
};

export function handleControlHttp(control: EmulatorControl, req: IncomingMessage, res: ServerResponse, path: string, raw: Buffer): void {
  const name = path.slice(CONTROL_PREFIX.length);
  if (req.method === 'GET' && name === 'stats') return sendJson(res, 200, control.stats());
  const action = POST_ACTIONS[name];
  if (req.method !== 'POST' || !action) return sendJson(res, 404, { error: `unknown control call ${req.method} ${path}` });
  const body = parseJsonObject(raw);
  if (!body) return sendJson(res, 400, { error: 'body must be a JSON object' });
  try {
    action(control, body);
  } catch (err) {
    const message = err instanceof z.ZodError ? z.prettifyError(err) : String(err);
    return sendJson(res, 400, { error: message });
  }
  sendJson(res, 200, { ok: true });
}
