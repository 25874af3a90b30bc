/** `ChatService/Chat` (spec B.3–B.7, B.11): request checks, chat/branch resolution, then the stream. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requireCaller } from './auth-gate.js';
import { UNTITLED_CHAT, type StoredChat, type StoredMessage } from './chat-store.js';
import { ConnectFrames, type ConnectError } from './connect-frames.js';
import { decodeRequestEnvelope, parseChatRequest } from './connect-request.js';
import { streamConnectReply } from './connect-stream.js';
import { CONNECT_CODE_FOR_STATUS, STATUS_FAULTS } from './faults.js';
import { retryAfterHeader, sendConnectError } from './http-io.js';
import { kimiUuid } from './ids.js';
import { sendConnectLimit } from './quota.js';
import { buildReplyPlan } from './reply-plan.js';
import type { EmulatorState } from './state.js';
import { StreamOutput } from './stream-output.js';

const CONNECT_HEADERS = { 'content-type': 'application/connect+json' };

/** HTTP 200 with nothing but frames (business errors travel inside the stream, spec B.11). */
function sendFrames(res: ServerResponse, frames: Uint8Array[]): void {
  res.writeHead(200, CONNECT_HEADERS);
  res.end(Buffer.concat(frames));
}

function trailerOnly(res: ServerResponse, error: ConnectError): void {
  sendFrames(res, [new ConnectFrames().trailer(error)]);
}

export async function handleConnectChat(state: EmulatorState, req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
  const caller = requireCaller(state, req, res, 'connect');
  if (!caller) return;
  const contentType = req.headers['content-type'] ?? '';
  const payload = contentType.toLowerCase().startsWith('application/connect+json') ? decodeRequestEnvelope(raw) : undefined;
  if (!payload) {
    trailerOnly(res, { code: 'invalid_argument', message: 'request must be one application/connect+json envelope' });
    return;
  }
  const request = parseChatRequest(payload);

  let chat: StoredChat | undefined;
  if (request.chatId) {
    chat = state.chats.get(request.chatId, caller.accountKey);
    // The spec only reports "chat does not exist" errors; not_found in the trailer is the emulator's choice.
    if (!chat) return trailerOnly(res, { code: 'not_found', message: 'chat does not exist' });
  }
  let parentId = request.parentIsRoot ? undefined : chat?.latestId;
  if (request.parentId) {
    if (!chat?.messages.has(request.parentId)) return trailerOnly(res, { code: 'not_found', message: 'parent message does not exist' });
    parentId = request.parentId;
  }
  const files = request.fileIds.map((id) => state.files.get(id, caller.accountKey));
  const missingFile = request.fileIds.find((_, i) => !files[i]);
  // Kimi's answer to an unknown (or another account's) file id is not captured; not_found is the emulator's choice.
  if (missingFile !== undefined) return trailerOnly(res, { code: 'not_found', message: `file ${missingFile} does not exist` });
  const history = chat ? state.chats.branch(chat, parentId).filter((m) => m.role === 'user').map((m) => m.text) : [];
  const chatId = chat?.id ?? kimiUuid();
  const plan = buildReplyPlan({
    text: request.text,
    protocol: 'connect',
    thinkingRequested: request.thinking,
    searchEnabled: request.search,
    history,
    chatId,
    defaultDelayMs: state.options.defaultDeltaDelayMs,
    defaultHeartbeatMs: state.options.heartbeatIntervalMs,
    files: files.map((f) => ({ name: f!.name, contentType: f!.contentType, size: f!.bytes.byteLength, sha256: f!.sha256 })),
  });
  const fault = state.faults.take(caller.token, caller.accountKey, (f) => f !== '401') ?? plan.fault;
  const status = fault ? STATUS_FAULTS[fault.fault] : undefined;
  if (fault && status !== undefined) {
    const headers = status === 429 ? retryAfterHeader(fault.retryAfterSec) : {};
    sendConnectError(res, status, fault.code ?? CONNECT_CODE_FOR_STATUS[status]!, `emulated HTTP ${status}`, headers);
    return;
  }
  const refusal = state.quota.take(caller.accountKey);
  if (refusal) return sendConnectLimit(res, refusal);
  const max = state.maxConcurrentPerAccount;
  if (max !== null && state.stats.openStreamsFor(caller.accountKey) >= max) {
    const frames = new ConnectFrames();
    sendFrames(res, [frames.heartbeat(), frames.error({ code: 'resource_exhausted', message: 'too many concurrent generations for this account' })]);
    return;
  }

  if (!chat) {
    chat = state.chats.create(chatId, caller.accountKey, UNTITLED_CHAT);
    state.stats.chatCreated();
  }
  const now = Date.now();
  const user: StoredMessage = { id: kimiUuid(), role: 'user', status: 'MESSAGE_STATUS_COMPLETED', text: request.text, scenario: request.scenario, createTime: now };
  if (parentId) user.parentId = parentId;
  state.chats.add(chat, user);
  const assistant: StoredMessage = {
    id: kimiUuid(),
    parentId: user.id,
    role: 'assistant',
    status: 'MESSAGE_STATUS_GENERATING',
    text: '',
    scenario: request.scenario,
    createTime: now,
  };
  state.chats.add(chat, assistant);

  const handle = state.stats.streamStarted(caller.accountKey);
  chat.streaming++;
  const frames = new ConnectFrames();
  res.writeHead(200, CONNECT_HEADERS);
  const out = new StreamOutput(res, { chunking: plan.chunking, writes: plan.writes, seed: plan.seed, heartbeatMs: plan.heartbeatMs, heartbeat: () => frames.heartbeat() });
  // Kimi titles a chat after its first turn; the emulator's title is derived from the digest, never the prompt.
  const title = chat.name === UNTITLED_CHAT || chat.name === '未命名会话' ? `Chat ${plan.digest}` : chat.name;
  try {
    await streamConnectReply(out, frames, plan, fault, { chat, user, assistant, scenario: request.scenario, title });
  } finally {
    chat.streaming--;
    assistant.status = 'MESSAGE_STATUS_COMPLETED';
    handle.end(out.clientGone);
  }
}
