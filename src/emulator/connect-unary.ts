/** Connect unary RPCs (spec B.1, B.8): plain JSON in and out, Connect error bodies on failure. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requireCaller, type Caller } from './auth-gate.js';
import { connectCatalog } from './catalog.js';
import type { StoredChat, StoredMessage } from './chat-store.js';
import { searchChunk } from './connect-frames.js';
import { parseJsonObject, sendConnectError, sendJson, stringField, field } from './http-io.js';
import { digitsFor, rfc3339, userIdFor } from './ids.js';
import type { EmulatorState } from './state.js';

type Handler = (state: EmulatorState, caller: Caller, body: Record<string, unknown>, res: ServerResponse) => void;

const CHAT_PACKAGES = ['kimi.chat.v1', 'kimi.gateway.chat.v1'];

/** Offsets travel as opaque page tokens, as the spec says all list RPCs page with one. */
function pageOf<T>(items: T[], body: Record<string, unknown>, defaultSize: number): { page: T[]; nextPageToken: string } {
  const rawSize = field(body, 'page_size');
  const size = typeof rawSize === 'number' && rawSize > 0 ? Math.floor(rawSize) : defaultSize;
  const token = stringField(body, 'page_token') ?? '';
  const decoded = token ? Number(Buffer.from(token, 'base64url').toString('utf8')) : 0;
  const offset = Number.isInteger(decoded) && decoded > 0 ? decoded : 0;
  const end = offset + size;
  return { page: items.slice(offset, end), nextPageToken: end < items.length ? Buffer.from(String(end)).toString('base64url') : '' };
}

function chatSummary(c: StoredChat): Record<string, unknown> {
  return { id: c.id, name: c.name, createTime: rfc3339(c.createTime), updateTime: rfc3339(c.updateTime) };
}

function messageView(m: StoredMessage): Record<string, unknown> {
  const blocks: Record<string, unknown>[] = [];
  if (m.role === 'user') blocks.push({ id: 'text_0_0', text: { content: m.text } });
  else {
    if (m.think) blocks.push({ id: String(blocks.length + 1), think: { content: m.think } });
    blocks.push({ id: String(blocks.length + 1), text: { content: m.text } });
  }
  const view: Record<string, unknown> = { id: m.id };
  if (m.parentId) view.parentId = m.parentId;
  Object.assign(view, { role: m.role, status: m.status, blocks, createTime: rfc3339(m.createTime) });
  view.refs = m.searchResults ? { searchChunks: m.searchResults.map(searchChunk) } : {};
  return view;
}

/** Resolves `chat_id`/`chatId`; answers not_found (an emulator choice: the spec only names "chat does not exist" errors). */
function withChat(state: EmulatorState, caller: Caller, body: Record<string, unknown>, res: ServerResponse, then: (chat: StoredChat) => void): void {
  const chat = state.chats.get(stringField(body, 'chat_id') ?? '', caller.accountKey);
  if (!chat) return sendConnectError(res, 404, 'not_found', 'chat does not exist');
  then(chat);
}

const chatMethods: Record<string, Handler> = {
  ListChats: (state, caller, body, res) => {
    const query = stringField(body, 'query') ?? '';
    const chats = state.chats.list(caller.accountKey).filter((c) => query === '' || c.name.includes(query));
    const { page, nextPageToken } = pageOf(chats, body, 20);
    sendJson(res, 200, {
      chats: page.map((c) => ({ ...chatSummary(c), messageContent: Array.from(c.messages.get(c.latestId ?? '')?.text ?? '').slice(0, 200).join('') })),
      nextPageToken,
    });
  },
  GetChat: (state, caller, body, res) => withChat(state, caller, body, res, (chat) => sendJson(res, 200, { chat: chatSummary(chat) })),
  ListMessages: (state, caller, body, res) =>
    withChat(state, caller, body, res, (chat) => {
      const { page, nextPageToken } = pageOf(state.chats.messagesNewestFirst(chat), body, 50);
      sendJson(res, 200, { messages: page.map(messageView), nextPageToken });
    }),
  DeleteChat: (state, caller, body, res) =>
    withChat(state, caller, body, res, (chat) => {
      state.chats.delete(chat.id, caller.accountKey);
      state.stats.chatDeleted();
      sendJson(res, 200, {});
    }),
};

const otherMethods: Record<string, Handler> = {
  'kimi.gateway.config.v1.ConfigService/GetAvailableModels': (state, _caller, _body, res) => {
    if (state.catalogFailure) return sendConnectError(res, 500, 'internal', 'model catalog unavailable (injected fault)');
    sendJson(res, 200, connectCatalog());
  },
  'kimi.gateway.order.v1.SubscriptionService/GetSubscription': (_state, caller, _body, res) => {
    const userId = userIdFor(caller.accountKey);
    sendJson(res, 200, { subscription: { userId, userName: `Emulator user ${userId.slice(0, 6)}`, email: `${userId}@example.com` } });
  },
  'kimi.gateway.membership.v2.MembershipService/GetSubscriptionStats': (state, caller, _body, res) => {
    const usage = state.quota.usage(caller.accountKey);
    sendJson(res, 200, {
      subscriptionBalance: {
        id: userIdFor(caller.accountKey),
        feature: 'FEATURE_OMNI',
        type: 'SUBSCRIPTION',
        unit: 'UNIT_CREDIT',
        amountUsedRatio: usage && usage.total > 0 ? usage.used / usage.total : 0,
        expireTime: rfc3339(Date.UTC(2099, 0, 1)),
        domain: 'DOMAIN_NEXUS',
      },
    });
  },
  'kimi.gateway.account.v1.UserService/GetCurrentUser': (_state, caller, _body, res) => {
    const id = userIdFor(caller.accountKey);
    sendJson(res, 200, {
      user: { id, nickname: 'Emulator user', avatar: '', phone: {}, region: 'REGION_OVERSEA', globalId: digitsFor(caller.accountKey, 'global', '1') },
      workspace: { user: {} },
    });
  },
};

function lookup(method: string): Handler | undefined {
  const other = otherMethods[method];
  if (other) return other;
  const m = /^(.+)\.ChatService\/(\w+)$/.exec(method);
  return m && CHAT_PACKAGES.includes(m[1]!) ? chatMethods[m[2]!] : undefined;
}

/** Answers a unary RPC; false when the method is unknown here. */
export function handleConnectUnary(state: EmulatorState, req: IncomingMessage, res: ServerResponse, method: string, raw: Buffer): boolean {
  const handler = lookup(method);
  if (!handler) return false;
  const caller = requireCaller(state, req, res, 'connect');
  if (!caller) return true;
  const body = parseJsonObject(raw);
  if (!body) {
    sendConnectError(res, 400, 'invalid_argument', 'body must be a JSON object');
    return true;
  }
  handler(state, caller, body, res);
  return true;
}
