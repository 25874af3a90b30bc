/**
 * Legacy `POST /api/chat/<id>/completion/stream` (spec A.4–A.8): `req` → optional
 * `search_plus` → `resp` → optional `k1` thinking → `cmpl`×n → optional `length` → `all_done`.
 */
import type { ServerResponse } from 'node:http';
import type { Caller } from './auth-gate.js';
import type { StoredChat, StoredMessage } from './chat-store.js';
import { STATUS_FAULTS } from './faults.js';
import { retryAfterHeader, sendRestError } from './http-io.js';
import { sendRestLimit } from './quota.js';
import { legacyId } from './ids.js';
import { buildReplyPlan, type ReplyPlan } from './reply-plan.js';
import type { EmulatorState } from './state.js';
import { StreamOutput } from './stream-output.js';
import type { FaultSpec } from './types.js';

/** The K1 agent id of 2024-12 (spec 1.4). */
export const K1_KIMIPLUS_ID = 'crm40ee9e5jvhsn7ptcg';

/** The text of the last user message; content may be a string or an array of text parts. */
function userText(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? (body.messages as unknown[]) : [];
  const last = [...messages].reverse().find((m) => m && typeof m === 'object' && (m as { role?: unknown }).role === 'user') ?? messages.at(-1);
  const content = last && typeof last === 'object' ? (last as { content?: unknown }).content : undefined;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join('');
  }
  return '';
}

/** Answers an HTTP status fault (before any body); false when the fault is not a status fault. */
function sendStatusFault(res: ServerResponse, fault: FaultSpec | undefined): boolean {
  const status = fault ? STATUS_FAULTS[fault.fault] : undefined;
  if (!fault || status === undefined) return false;
  if (status === 401) sendRestError(res, 401, fault.code ?? 'auth.token.invalid', 'token invalid (injected fault)');
  else {
    // The spec names no error_type for 429/5xx; internal.error is the one generic code it confirms.
    sendRestError(res, status, fault.code ?? 'internal.error', `emulated HTTP ${status}`, status === 429 ? retryAfterHeader(fault.retryAfterSec) : {});
  }
  return true;
}

export async function handleCompletion(
  state: EmulatorState,
  res: ServerResponse,
  caller: Caller,
  chat: StoredChat,
  body: Record<string, unknown>,
): Promise<void> {
  const text = userText(body);
  const model = typeof body.model === 'string' ? body.model : '';
  const segmentId = body.action === 'continue' && typeof body.segment_id === 'string' ? body.segment_id : undefined;
  const pending = segmentId ? chat.pendingSegments.get(segmentId) : undefined;
  const refs = Array.isArray(body.refs) ? body.refs.filter((x): x is string => typeof x === 'string') : [];
  const files = refs.map((id) => state.files.get(id, caller.accountKey));
  const missingFile = refs.find((_, i) => !files[i]);
  // Kimi's answer to an unknown (or another account's) file id is not captured; this error is the emulator's choice.
  if (missingFile !== undefined) return sendRestError(res, 400, 'file.not_found', `file ${missingFile} does not exist`);
  const history = state.chats.branch(chat, chat.latestId).filter((m) => m.role === 'user').map((m) => m.text);
  const plan = buildReplyPlan({
    text,
    protocol: 'rest',
    thinkingRequested: model.endsWith('-thinking') || body.kimiplus_id === K1_KIMIPLUS_ID,
    searchEnabled: body.use_search === true,
    history,
    chatId: chat.id,
    defaultDelayMs: state.options.defaultDeltaDelayMs,
    defaultHeartbeatMs: 0,
    files: files.map((f) => ({ name: f!.name, contentType: f!.contentType, size: f!.bytes.byteLength, sha256: f!.sha256 })),
  });
  const fault = state.faults.take(caller.token, caller.accountKey, (f) => f !== '401') ?? plan.fault;

  if (sendStatusFault(res, fault)) return;
  if (fault?.fault === 'busy' || chat.streaming > 0) {
    // The spec shows the error_type but not the status; 400 is this emulator's choice.
    sendRestError(res, 400, 'chat.user_stream_pushing', 'a reply is already streaming in this chat');
    return;
  }
  const refusal = state.quota.take(caller.accountKey);
  if (refusal) return sendRestLimit(res, refusal);
  const max = state.maxConcurrentPerAccount;
  if (max !== null && state.stats.openStreamsFor(caller.accountKey) >= max) {
    sendRestError(res, 429, 'internal.error', 'too many concurrent generations for this account');
    return;
  }

  const handle = state.stats.streamStarted(caller.accountKey);
  chat.streaming++;
  const now = Date.now();
  const reqId = legacyId();
  let assistant: StoredMessage;
  if (pending && segmentId) {
    chat.pendingSegments.delete(segmentId);
    plan.answerDeltas = pending;
    plan.thinkDeltas = [];
    plan.searchResults = [];
    assistant = chat.messages.get(segmentId) ?? newAssistant(state, chat, reqId, undefined, now);
  } else {
    const user: StoredMessage = { id: legacyId(), role: 'user', status: 'MESSAGE_STATUS_COMPLETED', text, createTime: now };
    if (chat.latestId) user.parentId = chat.latestId;
    state.chats.add(chat, user);
    assistant = newAssistant(state, chat, reqId, user.id, now);
  }
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  const out = new StreamOutput(res, { chunking: plan.chunking, writes: plan.writes, seed: plan.seed, heartbeatMs: 0 });
  try {
    await streamReply(out, plan, fault, reqId, assistant, chat);
  } finally {
    chat.streaming--;
    assistant.status = 'MESSAGE_STATUS_COMPLETED';
    handle.end(out.clientGone);
  }
}

function newAssistant(state: EmulatorState, chat: StoredChat, id: string, parentId: string | undefined, now: number): StoredMessage {
  const m: StoredMessage = { id, role: 'assistant', status: 'MESSAGE_STATUS_GENERATING', text: '', createTime: now };
  if (parentId) m.parentId = parentId;
  state.chats.add(chat, m);
  return m;
}

/** Faults that interrupt the delta loop once `after` answer deltas went out. */
const MID_STREAM = new Set(['error-event', 'cut', 'truncate', 'stall']);

async function streamReply(out: StreamOutput, plan: ReplyPlan, fault: FaultSpec | undefined, reqId: string, assistant: StoredMessage, chat: StoredChat): Promise<void> {
  const nl = plan.crlf ? '\r\n' : '\n';
  const record = (value: Record<string, unknown>): Buffer => Buffer.from(`data: ${JSON.stringify(value)}${nl}${nl}`);
  let first = true;
  const pace = async (): Promise<void> => {
    if (!first) await out.wait(plan.delayMs);
    first = false;
  };

  out.push(record({ event: 'req', id: reqId }));
  if (plan.searchResults.length > 0) {
    out.push(record({ event: 'search_plus', msg: { type: 'start_res' } }));
    for (const r of plan.searchResults) {
      out.push(record({ event: 'search_plus', msg: { type: 'get_res', successNum: r.index, title: r.title, url: r.url, site_name: r.siteName, snippet: r.snippet, date: r.date } }));
    }
  }
  out.push(record({ event: 'resp' }));
  for (const d of plan.thinkDeltas) {
    await pace();
    if (out.clientGone) return;
    out.push(record({ event: 'k1', text: d }));
    assistant.think = (assistant.think ?? '') + d;
  }
  await out.wait(plan.stallMs);

  const deltas = plan.answerDeltas;
  const limit = fault?.fault === 'length' ? Math.ceil(deltas.length / 2) : deltas.length;
  const mid = fault && MID_STREAM.has(fault.fault) ? fault : undefined;
  for (let i = 0; i < limit; i++) {
    if (mid && i === mid.after) return applyFault(out, mid, record);
    await pace();
    if (out.clientGone) return;
    out.push(record({ event: 'cmpl', text: deltas[i] }));
    assistant.text += deltas[i];
  }
  if (mid) return applyFault(out, mid, record);
  if (limit < deltas.length) {
    chat.pendingSegments.set(reqId, deltas.slice(limit));
    out.push(record({ event: 'length' }));
  }
  if (fault?.fault !== 'no-done') out.push(record({ event: 'all_done' }));
  await out.end();
}

async function applyFault(out: StreamOutput, fault: FaultSpec, record: (v: Record<string, unknown>) => Buffer): Promise<void> {
  switch (fault.fault) {
    case 'error-event':
      out.push(record({ event: 'error' }));
      return out.end();
    case 'cut':
      return out.cut();
    case 'truncate': {
      const whole = record({ event: 'cmpl', text: 'truncated record' });
      out.push(whole.subarray(0, Math.floor(whole.byteLength / 2)));
      return out.end();
    }
    default:
      await out.wait(Infinity);
  }
}
