/**
 * The frame sequence of one Connect `Chat` reply (spec B.5): heartbeat, chat, user echo,
 * assistant GENERATING, optional thinking, optional search, text set/appends, chat.name,
 * message.status COMPLETED, done, `{}` trailer; with injected faults along the way.
 */
import type { StoredChat, StoredMessage } from './chat-store.js';
import { connectErrorDetails, searchChunk, webPage, type ConnectFrames } from './connect-frames.js';
import { rfc3339 } from './ids.js';
import type { ReplyPlan } from './reply-plan.js';
import type { StreamOutput } from './stream-output.js';
import type { FaultSpec } from './types.js';

export interface ConnectTurn {
  chat: StoredChat;
  user: StoredMessage;
  assistant: StoredMessage;
  scenario: string;
  /** The chat's title after this turn (sent as `chat.name`). */
  title: string;
}

const MID_STREAM = new Set(['error-event', 'exception', 'trailer-error', 'cut', 'truncate', 'stall']);
const SEARCH_QUERY = 'emulator query';

export async function streamConnectReply(out: StreamOutput, frames: ConnectFrames, plan: ReplyPlan, fault: FaultSpec | undefined, turn: ConnectTurn): Promise<void> {
  const { chat, user, assistant } = turn;
  out.push(frames.heartbeat());
  if (fault?.fault === 'unauthenticated-in-stream') {
    out.push(frames.error({ code: fault.code ?? 'unauthenticated', message: 'access token expired (injected fault)' }));
    return out.end();
  }
  out.push(
    frames.event('set', 'chat.lastRequest', {
      chat: { id: chat.id, name: chat.name, createTime: rfc3339(chat.createTime), updateTime: rfc3339(chat.updateTime) },
    }),
  );
  const echo: Record<string, unknown> = {
    id: user.id,
    role: 'user',
    status: 'MESSAGE_STATUS_COMPLETED',
    blocks: [{ id: 'text_0_0', text: { content: user.text } }],
    scenario: turn.scenario,
  };
  if (user.parentId) echo.parentId = user.parentId;
  out.push(frames.event('set', 'message', { message: echo }));
  out.push(
    frames.event('set', 'message', {
      message: { id: assistant.id, parentId: user.id, role: 'assistant', status: 'MESSAGE_STATUS_GENERATING', scenario: turn.scenario, blocks: [] },
    }),
  );

  let first = true;
  const pace = async (): Promise<void> => {
    if (!first) await out.wait(plan.delayMs);
    first = false;
  };

  if (plan.thinkDeltas.length > 0) {
    const [s, t, k] = [frames.nextBlockId(), frames.nextBlockId(), frames.nextBlockId()];
    const stages = (status: string): Record<string, unknown> => ({ block: { id: s, multiStage: { stages: [{ name: 'STAGE_NAME_THINKING', status }] } } });
    out.push(frames.event('set', 'block.multiStage', stages('STAGE_STATUS_START')));
    out.push(frames.event('set', 'block.stage', { block: { id: t, parentId: s, stage: { name: 'STAGE_NAME_THINKING' } } }));
    for (const [i, d] of plan.thinkDeltas.entries()) {
      await pace();
      if (out.clientGone) return;
      out.push(i === 0 ? frames.event('set', 'block.think', { block: { id: k, think: { content: d } } }) : frames.event('append', 'block.think.content', { block: { id: k, think: { content: d } } }));
      assistant.think = (assistant.think ?? '') + d;
    }
    out.push(frames.event('set', 'block.multiStage', stages('STAGE_STATUS_END')));
  }

  const results = plan.searchResults;
  if (results.length > 0) {
    assistant.searchResults = results;
    if (plan.cite) {
      const id = frames.nextBlockId();
      out.push(frames.event('set', 'block.tool', { block: { id, tool: {} } }));
      out.push(frames.event('append', 'block.tool.args', { block: { id, tool: { args: JSON.stringify({ queries: [SEARCH_QUERY] }) } } }));
      out.push(frames.event('set', 'block.tool.contents', { block: { id, tool: { contents: results.map(searchChunk) } } }));
    } else {
      out.push(frames.event('append', 'block.search.keywords', { block: { id: '0_0', search: { keywords: [SEARCH_QUERY] } } }));
      for (const r of results) out.push(frames.event('append', 'block.search.webPages', { block: { id: '0_0', search: { webPages: [webPage(r)] } } }));
    }
  }
  await out.wait(plan.stallMs);

  const textId = frames.nextBlockId();
  const textFrame = (i: number, d: string): Uint8Array =>
    i === 0 ? frames.event('set', 'block.text', { block: { id: textId, text: { content: d } } }) : frames.event('append', 'block.text.content', { block: { id: textId, text: { content: d } } });
  const mid = fault && MID_STREAM.has(fault.fault) ? fault : undefined;
  for (const [i, d] of plan.answerDeltas.entries()) {
    if (mid && i === mid.after) return applyFault(out, frames, mid, () => textFrame(i, d));
    await pace();
    if (out.clientGone) return;
    out.push(textFrame(i, d));
    assistant.text += d;
  }
  if (mid) return applyFault(out, frames, mid, () => textFrame(plan.answerDeltas.length, 'truncated'));

  if (plan.cite) out.push(frames.event('set', 'message.refs.searchChunks', { message: { id: assistant.id, refs: { searchChunks: results.map(searchChunk) } } }));
  chat.name = turn.title;
  out.push(frames.event('set', 'chat.name', { chat: { name: turn.title } }));
  out.push(frames.event('set', 'message.status', { message: { id: assistant.id, status: 'MESSAGE_STATUS_COMPLETED' } }));
  if (fault?.fault !== 'no-done') {
    out.push(frames.marker({ done: {} }));
    out.push(frames.trailer());
  }
  await out.end();
}

async function applyFault(out: StreamOutput, frames: ConnectFrames, fault: FaultSpec, nextFrame: () => Uint8Array): Promise<void> {
  switch (fault.fault) {
    case 'error-event':
      out.push(frames.error(connectErrorDetails(fault.code ?? 'resource_exhausted', 'REASON_INJECTED_FAULT')));
      return out.end();
    case 'exception':
      out.push(frames.marker({ exception: { error: { reason: 'REASON_COMPLETION_OVERLOADED', localizedMessage: { message: 'The model is overloaded, please try again later.' } } } }));
      out.push(frames.marker({ done: {} }));
      out.push(frames.trailer());
      return out.end();
    case 'trailer-error':
      out.push(frames.trailer({ code: fault.code ?? 'resource_exhausted', message: 'emulated trailer error' }));
      return out.end();
    case 'cut':
      return out.cut();
    case 'truncate': {
      // The 5-byte header announces the whole payload; only part of it follows.
      const frame = nextFrame();
      out.push(frame.subarray(0, 5 + Math.max(1, Math.floor((frame.byteLength - 5) / 2))));
      return out.end();
    }
    default:
      await out.wait(Infinity);
  }
}
