/**
 * The load generator: closed-loop virtual users on undici pools, one request shape per
 * variant and workload, and the measuring (time to first answer byte, time to last byte,
 * exact reply checks).
 *
 * What one "request" is, per variant:
 * - kimi-proxy: one OpenAI request (`POST /v1/chat/completions[/{id}]`);
 * - direct and passthrough: the native Kimi exchange that kimi-proxy performs upstream for
 *   that OpenAI request, sent to the emulator (direct) or through the forwarder
 *   (passthrough). REST: create the chat, then the completion stream; Connect: one
 *   `ChatService/Chat` stream. Temporary chats are deleted after the answer, off the timed
 *   path, as kimi-proxy does.
 * Time to first byte (TTFB) runs from the start of the exchange to the first byte of answer
 * text (the first `cmpl` record, the first `block.text` frame, the first content chunk); for
 * the non-streaming workload, to the first byte of the response body.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { rawRequest, type RawOptions, type RawResult } from './raw-http.js';
import { workload as workloadOf, type Workload, type WorkloadName } from './workloads.js';
import {
  CONNECT_CHAT_PATH,
  CONNECT_DELETE_PATH,
  CONNECT_END,
  CONNECT_MARK,
  connectChatBody,
  connectChatIdFromHead,
  endsWith,
  nativeHeaders,
  OPENAI_CHAT,
  OPENAI_MARK,
  openaiBody,
  readConnectStream,
  readOpenAIStream,
  readRestStream,
  REST_CREATE_CHAT_BODY,
  REST_END,
  REST_MARK,
  restCompletionBody,
  type NativeReply,
  type OpenAIMessage,
  type Protocol,
} from './wire.js';

/** `baseline`: another build of kimi-proxy in the same run (--compare), for same-run A/B. */
export type VariantName = 'direct' | 'passthrough' | 'kimi-proxy' | 'baseline';
export type { WorkloadName } from './workloads.js';

export const VARIANTS: VariantName[] = ['direct', 'passthrough', 'kimi-proxy'];

/** The variants that take OpenAI requests (kimi-proxy builds); the others speak Kimi's own protocol. */
export const speaksOpenAI = (v: VariantName): boolean => v === 'kimi-proxy' || v === 'baseline';

/** Turns per conversation in the stateful workload; then the user starts a new one. */
export const TURNS_PER_CONVERSATION = 4;

/** Where one variant sends its requests. */
export interface Target {
  variant: VariantName;
  protocol: Protocol;
  /** Base URL the load goes to (emulator, forwarder or kimi-proxy). */
  url: string;
  /** The emulator's URL (origin/referer headers of native requests, as kimi-proxy sends them). */
  upstreamUrl: string;
  dispatcher: Pool;
  /** Bearer tokens for native requests (one per virtual account). */
  nativeTokens: string[];
  apiKey: string;
}

export function makePool(url: string, connections: number): Pool {
  return new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000, headersTimeout: 120_000, bodyTimeout: 120_000 });
}

export class BenchError extends Error {}

export interface Sample {
  ttfb: number;
  total: number;
  bytes: number;
}

interface WorkerState {
  index: number;
  conversation?: Conversation | undefined;
}

interface Conversation {
  id: string;
  turn: number;
  chatId?: string | undefined;
  parentId?: string | undefined;
  history: OpenAIMessage[];
}

/** Fire-and-forget cleanup requests (chat deletions) still running. */
const pendingCleanups = new Set<Promise<unknown>>();

export async function settleCleanups(): Promise<void> {
  while (pendingCleanups.size > 0) await Promise.allSettled([...pendingCleanups]);
}

function background(p: Promise<unknown>): void {
  const tracked = p.catch(() => undefined).finally(() => pendingCleanups.delete(tracked));
  pendingCleanups.add(tracked);
}

const REQUEST_TIMEOUT_MS = 120_000;

function send(t: Target, method: 'POST' | 'DELETE', path: string, headers: Record<string, string>, body: string | Buffer | undefined, opts: RawOptions): Promise<RawResult> {
  return rawRequest(t.dispatcher, { origin: t.url, path, method, headers, body }, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), ...opts });
}

function expectStatus(r: RawResult, what: string): void {
  if (r.status !== 200) {
    const body = r.body?.toString('utf8') ?? r.head.toString('utf8');
    throw new BenchError(`${what}: HTTP ${r.status} ${body.slice(0, 200)}`);
  }
}

function expectReply(reply: NativeReply, expected: string | RegExp, what: string): void {
  if (reply.error) throw new BenchError(`${what}: ${reply.error}`);
  if (!reply.complete) throw new BenchError(`${what}: the reply is incomplete`);
  const ok = typeof expected === 'string' ? reply.text === expected : expected.test(reply.text);
  if (!ok) throw new BenchError(`${what}: unexpected reply text ${JSON.stringify(reply.text.slice(0, 80))}${reply.text.length > 80 ? '…' : ''}`);
}

function expectEnd(r: RawResult, end: Buffer, what: string): void {
  if (!endsWith(r.tail, end)) throw new BenchError(`${what}: the body does not end with its end marker`);
}

function token(t: Target, w: WorkerState): { token: string; account: number } {
  const account = w.index % t.nativeTokens.length;
  return { token: t.nativeTokens[account]!, account };
}

// ---------------------------------------------------------------- native (direct, passthrough)

async function restTurn(t: Target, w: WorkerState, text: string, chatId: string | undefined, keepBody: boolean): Promise<{ chatId: string; stream: RawResult; start: number }> {
  const { token: tok, account } = token(t, w);
  const headers = nativeHeaders('rest', tok, account, t.upstreamUrl);
  const start = performance.now();
  let id = chatId;
  if (id === undefined) {
    const created = await send(t, 'POST', '/api/chat', { ...headers, 'content-type': 'application/json' }, REST_CREATE_CHAT_BODY, { keepBody: true });
    expectStatus(created, 'create chat');
    id = (JSON.parse(created.body!.toString('utf8')) as { id?: string }).id;
    if (!id) throw new BenchError('create chat: no id');
  }
  const stream = await send(
    t,
    'POST',
    `/api/chat/${id}/completion/stream`,
    { ...headers, 'content-type': 'application/json', accept: 'text/event-stream', referer: `${t.upstreamUrl}/chat/${id}` },
    restCompletionBody(text),
    { mark: REST_MARK, keepBody },
  );
  expectStatus(stream, 'completion stream');
  return { chatId: id, stream, start };
}

function restDelete(t: Target, w: WorkerState, chatId: string): void {
  const { token: tok, account } = token(t, w);
  const headers = { ...nativeHeaders('rest', tok, account, t.upstreamUrl), 'content-type': 'application/json' };
  background(send(t, 'DELETE', `/api/chat/${chatId}`, headers, undefined, {}));
}

async function connectTurn(t: Target, w: WorkerState, text: string, chatId: string | undefined, parentId: string | undefined, keepBody: boolean): Promise<RawResult> {
  const { token: tok, account } = token(t, w);
  const headers = { ...nativeHeaders('connect', tok, account, t.upstreamUrl), 'content-type': 'application/connect+json', accept: 'application/connect+json' };
  const r = await send(t, 'POST', CONNECT_CHAT_PATH, headers, connectChatBody(text, chatId, parentId), { mark: CONNECT_MARK, keepBody, keepHead: 2048 });
  expectStatus(r, 'Chat');
  return r;
}

function connectDelete(t: Target, w: WorkerState, chatId: string): void {
  const { token: tok, account } = token(t, w);
  const headers = { ...nativeHeaders('connect', tok, account, t.upstreamUrl), 'content-type': 'application/json' };
  background(send(t, 'POST', CONNECT_DELETE_PATH, headers, JSON.stringify({ chat_id: chatId }), {}));
}

async function nativeStateless(t: Target, w: WorkerState, spec: Workload, verify: boolean): Promise<Sample> {
  // Short answers are always checked in full; long streams when sampled, else by their end marker.
  const keepBody = verify || !spec.stream;
  if (t.protocol === 'rest') {
    const { chatId, stream, start } = await restTurn(t, w, spec.prompt, undefined, keepBody);
    if (keepBody) expectReply(readRestStream(stream.body!), spec.expected, 'REST reply');
    else expectEnd(stream, REST_END, 'REST reply');
    restDelete(t, w, chatId);
    return sample(start, stream, spec.stream);
  }
  const r = await connectTurn(t, w, spec.prompt, undefined, undefined, keepBody);
  if (keepBody) expectReply(readConnectStream(r.body!), spec.expected, 'Connect reply');
  else expectEnd(r, CONNECT_END, 'Connect reply');
  const chatId = connectChatIdFromHead(r.head);
  if (!chatId) throw new BenchError('Connect reply: no chat id');
  connectDelete(t, w, chatId);
  return sample(r.start, r, spec.stream);
}

async function nativeStateful(t: Target, w: WorkerState, spec: Workload, c: Conversation): Promise<Sample> {
  const k = c.turn + 1;
  const text = `${spec.prompt} Question number ${k}.`;
  if (t.protocol === 'rest') {
    const { chatId, stream, start } = await restTurn(t, w, text, c.chatId, true);
    expectReply(readRestStream(stream.body!), `turn=${k} chat=${chatId}`, `REST turn ${k}`);
    c.chatId = chatId;
    c.turn = k;
    return sample(start, stream, true);
  }
  const r = await connectTurn(t, w, text, c.chatId, c.parentId, true);
  const reply = readConnectStream(r.body!);
  const chatId = reply.chatId ?? c.chatId;
  expectReply(reply, `turn=${k} chat=${chatId}`, `Connect turn ${k}`);
  if (!reply.assistantMessageId) throw new BenchError(`Connect turn ${k}: no assistant message id`);
  c.chatId = chatId;
  c.parentId = reply.assistantMessageId;
  c.turn = k;
  return sample(r.start, r, true);
}

// ---------------------------------------------------------------- kimi-proxy (OpenAI)

function openaiHeaders(t: Target): Record<string, string> {
  return { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' };
}

async function proxyStateless(t: Target, spec: Workload, verify: boolean): Promise<Sample> {
  const keepBody = verify || !spec.stream;
  const door = spec.door ?? OPENAI_CHAT;
  const r = await send(t, 'POST', door.path, door.headers(t.apiKey), door.body(spec.prompt, spec.stream, spec.requestExtra ?? {}), {
    mark: spec.stream ? door.mark : undefined,
    keepBody,
  });
  expectStatus(r, door.path);
  if (!spec.stream) expectReply(door.readWhole(r.body!), spec.expected, 'whole reply');
  else if (keepBody) expectReply(door.readStream(r.body!), spec.expected, 'stream');
  else if (!door.ended(r.tail)) throw new BenchError(`stream: the body of ${door.path} does not end as a complete answer`);
  return sample(r.start, r, spec.stream);
}

async function proxyStateful(t: Target, spec: Workload, c: Conversation): Promise<Sample> {
  const k = c.turn + 1;
  const messages: OpenAIMessage[] = [...c.history, { role: 'user', content: `${spec.prompt} Question number ${k}.` }];
  const r = await send(t, 'POST', `/v1/chat/completions/${c.id}`, openaiHeaders(t), openaiBody(messages, true, spec.requestExtra), { mark: OPENAI_MARK, keepBody: true });
  expectStatus(r, `turn ${k}`);
  const reply = readOpenAIStream(r.body!);
  const m = /^turn=(\d+) chat=(\S+)$/.exec(reply.text);
  expectReply(reply, new RegExp(`^turn=${k} chat=`), `turn ${k}`);
  if (c.chatId !== undefined && m?.[2] !== c.chatId) throw new BenchError(`turn ${k}: the conversation moved to another upstream chat`);
  c.chatId = m?.[2];
  c.history = [...messages, { role: 'assistant', content: reply.text }];
  c.turn = k;
  return sample(r.start, r, true);
}

function sample(start: number, r: RawResult, stream: boolean): Sample {
  const first = stream ? r.markAt : r.firstByteAt;
  if (Number.isNaN(first)) throw new BenchError('no answer text in the response');
  return { ttfb: first - start, total: r.endAt - start, bytes: r.bytes };
}

// ---------------------------------------------------------------- one request

let conversationSeq = 0;

export async function oneRequest(t: Target, name: WorkloadName, w: WorkerState, verify: boolean): Promise<Sample> {
  const spec = workloadOf(name);
  if (spec.stateful === true) {
    if (!w.conversation || w.conversation.turn >= TURNS_PER_CONVERSATION) {
      w.conversation = { id: `bench-${process.pid}-${++conversationSeq}`, turn: 0, history: [] };
    }
    const c = w.conversation;
    try {
      return speaksOpenAI(t.variant) ? await proxyStateful(t, spec, c) : await nativeStateful(t, w, spec, c);
    } catch (err) {
      w.conversation = undefined;
      throw err;
    }
  }
  return speaksOpenAI(t.variant) ? proxyStateless(t, spec, verify) : nativeStateless(t, w, spec, verify);
}

// ---------------------------------------------------------------- phases

export interface PhaseOptions {
  concurrency: number;
  /** New requests start only within this window; requests in flight then finish. */
  durationMs: number;
  /** Also stop starting new requests once this many have started. */
  maxRequests?: number;
  /** Check the exact reply text of every n-th request (1 = all). */
  verifyEvery: number;
}

export interface PhaseResult {
  requests: number;
  errors: number;
  errorMessages: string[];
  ttfb: number[];
  total: number[];
  bytes: number;
  windowMs: number;
  /** From the first request to the end of the last one. */
  elapsedMs: number;
}

const MAX_ERRORS = 50;

export async function runPhase(t: Target, workload: WorkloadName, o: PhaseOptions): Promise<PhaseResult> {
  const result: PhaseResult = { requests: 0, errors: 0, errorMessages: [], ttfb: [], total: [], bytes: 0, windowMs: o.durationMs, elapsedMs: 0 };
  const t0 = performance.now();
  const windowEnd = t0 + o.durationMs;
  let started = 0;
  const max = o.maxRequests ?? Infinity;
  const pauseMs = workloadOf(workload).pauseMs ?? 0;
  const worker = async (index: number): Promise<void> => {
    const w: WorkerState = { index };
    let first = true;
    while (performance.now() < windowEnd && started < max && result.errors < MAX_ERRORS) {
      const n = started++;
      // The pause comes after the request is counted, so that no other user starts one meanwhile past the limit.
      if (pauseMs > 0 && !first) await sleep(pauseMs);
      first = false;
      try {
        const s = await oneRequest(t, workload, w, n % o.verifyEvery === 0);
        result.requests++;
        result.ttfb.push(s.ttfb);
        result.total.push(s.total);
        result.bytes += s.bytes;
      } catch (err) {
        result.errors++;
        if (result.errorMessages.length < 5) result.errorMessages.push(err instanceof Error ? err.message : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, (_, i) => worker(i)));
  result.elapsedMs = performance.now() - t0;
  await settleCleanups();
  return result;
}
