/** Legacy `/api` routes (spec A, checklist E): auth, user, chat lifecycle, stubs, catalog, files. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requireCaller } from './auth-gate.js';
import { legacyCatalog } from './catalog.js';
import { UNTITLED_CHAT } from './chat-store.js';
import { parseProcess, preSignUrl, registerFile } from './files-api.js';
import { bearerOf, parseJsonObject, safeDecode, sendJson, sendRestError } from './http-io.js';
import { legacyId, userIdFor } from './ids.js';
import { handleCompletion } from './rest-stream.js';
import type { EmulatorState } from './state.js';

/** Fire-and-forget endpoints of the web UI (spec A.9) that answer `{}`. */
const STUBS = new Set([
  'POST /api/suggestion',
  'POST /api/user/usage',
  'POST /api/kimiplus/history',
  'POST /api/kimiplus/search',
  'POST /api/prompt-snippet/instance',
  'GET /api/chat_1m/user/status',
  'GET /api/kimi_mv/user/status',
]);

const CHAT_PATH = /^\/api\/chat\/([^/]+)(\/completion\/stream|\/pre-n2s|\/token_size)?$/;

function notFound(res: ServerResponse): void {
  // 2026 www.kimi.com answers unknown /api paths this way ([U5]).
  sendRestError(res, 404, 'internal.error', 'not found');
}

function refresh(state: EmulatorState, req: IncomingMessage, res: ServerResponse): void {
  const token = bearerOf(req);
  if (state.faults.take(token, state.tokens.accountKeyOf(token), (f) => f === '401')) {
    sendRestError(res, 401, 'auth.token.invalid', 'token rejected (injected fault)');
    return;
  }
  const result = state.tokens.refresh(token);
  if (!result.ok) {
    sendRestError(res, 401, 'auth.token.invalid', result.message);
    return;
  }
  state.stats.refresh(result.accountKey);
  sendJson(res, 200, { access_token: result.accessToken, refresh_token: result.refreshToken });
}

export async function handleRest(state: EmulatorState, req: IncomingMessage, res: ServerResponse, path: string, raw: Buffer): Promise<void> {
  const method = req.method ?? 'GET';
  if (path === '/api' || path === '/api/') {
    res.writeHead(302, { location: '/' }).end();
    return;
  }
  if (method === 'GET' && path === '/api/auth/token/refresh') return refresh(state, req, res);

  const caller = requireCaller(state, req, res, 'rest');
  if (!caller) return;
  const body = parseJsonObject(raw);
  if (body === undefined) {
    sendRestError(res, 400, 'internal.error', 'body is not a JSON object');
    return;
  }
  const route = `${method} ${path}`;
  if (STUBS.has(route)) return sendJson(res, 200, {});

  switch (route) {
    case 'GET /api/user':
      return sendJson(res, 200, { id: userIdFor(caller.accountKey), status: 'normal' });
    case 'GET /api/chat/research/usage':
      return sendJson(res, 200, state.quota.usage(caller.accountKey) ?? { remain: 20, total: 20, used: 0 });
    case 'GET /api/chat/models/available':
      return sendJson(res, 200, legacyCatalog());
    case 'POST /api/pre-sign-url':
      return preSignUrl(state, res, body, caller.accountKey);
    case 'POST /api/file':
      return registerFile(state, res, body, caller.accountKey);
    case 'POST /api/file/parse_process':
      return parseProcess(state, res, body, caller.accountKey);
    case 'POST /api/chat': {
      const name = typeof body.name === 'string' && body.name !== '' ? body.name : UNTITLED_CHAT;
      const chat = state.chats.create(legacyId(), caller.accountKey, name);
      state.stats.chatCreated();
      return sendJson(res, 200, { id: chat.id, name: chat.name });
    }
    case 'POST /api/chat/list': {
      const offset = typeof body.offset === 'number' ? Math.max(0, body.offset) : 0;
      const size = typeof body.size === 'number' ? Math.max(0, body.size) : 50;
      const items = state.chats.list(caller.accountKey).slice(offset, offset + size);
      return sendJson(res, 200, { items: items.map((c) => ({ id: c.id, name: c.name })) });
    }
  }

  const m = CHAT_PATH.exec(path);
  if (!m) return notFound(res);
  const chatId = safeDecode(m[1]!);
  const sub = m[2];
  const chat = state.chats.get(chatId, caller.accountKey);
  if (!chat) {
    // The spec only reports "chat does not exist" errors; this error_type is the emulator's choice.
    sendRestError(res, 404, 'chat.not_found', 'chat does not exist');
    return;
  }
  if (method === 'DELETE' && !sub) {
    state.chats.delete(chat.id, caller.accountKey);
    state.stats.chatDeleted();
    return sendJson(res, 200, {});
  }
  if (method !== 'POST' || !sub) return notFound(res);
  if (sub === '/completion/stream') return handleCompletion(state, res, caller, chat, body);
  return sendJson(res, 200, {});
}
