/**
 * Memory per open stream: N streams held open at the same time through one process. The
 * emulator answers each with its opening records and the first half of the answer at once,
 * then stalls (`delay=`) before the rest; the stream counts as open when its first byte
 * reached the load generator. The
 * process's RSS is measured before the streams start and while all of them are open (and the
 * live heap after a full GC, both times); then every stream must finish with the exact reply.
 * Run it on a freshly started process, so that the heap has not already grown for other load.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Child } from './children.js';
import { rawRequest, type RawResult } from './raw-http.js';
import { settleCleanups, speaksOpenAI, type Target } from './load.js';
import {
  CONNECT_CHAT_PATH,
  CONNECT_DELETE_PATH,
  connectChatBody,
  connectChatIdFromHead,
  nativeHeaders,
  openaiBody,
  readConnectStream,
  readOpenAIStream,
  readRestStream,
  REST_CREATE_CHAT_BODY,
  restCompletionBody,
  type NativeReply,
} from './wire.js';

export interface HoldResult {
  streams: number;
  /** The most streams open at the same time (first byte received, last byte not yet). */
  opened: number;
  /** Time until all streams were open at the same time (NaN when they never were). */
  openMs: number;
  rssBefore: number;
  rssDuring: number;
  /** RSS while the streams are open, right after a full GC. */
  rssAfterGc: number;
  /** Live heap after a full GC, before and while the streams are open. */
  heapBefore: number;
  heapDuring: number;
  errors: number;
  errorMessages: string[];
}

const EXPECTED = 'w1 w2 w3 w4';

async function holdOne(t: Target, index: number, prompt: string, onOpen: () => void, onClose: () => void): Promise<NativeReply> {
  const timeout = AbortSignal.timeout(120_000);
  const req = (method: 'POST' | 'DELETE', path: string, headers: Record<string, string>, body: string | Buffer | undefined, onFirstByte?: () => void): Promise<RawResult> =>
    rawRequest(t.dispatcher, { origin: t.url, path, method, headers, body }, { keepBody: true, keepHead: 2048, signal: timeout, ...(onFirstByte ? { onFirstByte } : {}) });
  const check = (r: RawResult, what: string): void => {
    if (r.status !== 200) throw new Error(`${what}: HTTP ${r.status} ${r.body?.toString('utf8').slice(0, 200)}`);
  };
  if (speaksOpenAI(t.variant)) {
    const r = await req('POST', '/v1/chat/completions', { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' }, openaiBody([{ role: 'user', content: prompt }], true), onOpen);
    onClose();
    check(r, 'stream');
    return readOpenAIStream(r.body!);
  }
  const account = index % t.nativeTokens.length;
  const headers = nativeHeaders(t.protocol, t.nativeTokens[account]!, account, t.upstreamUrl);
  if (t.protocol === 'rest') {
    const created = await req('POST', '/api/chat', { ...headers, 'content-type': 'application/json' }, REST_CREATE_CHAT_BODY);
    check(created, 'create chat');
    const id = (JSON.parse(created.body!.toString('utf8')) as { id: string }).id;
    const r = await req('POST', `/api/chat/${id}/completion/stream`, { ...headers, 'content-type': 'application/json', accept: 'text/event-stream' }, restCompletionBody(prompt), onOpen);
    onClose();
    check(r, 'completion stream');
    await req('DELETE', `/api/chat/${id}`, { ...headers, 'content-type': 'application/json' }, undefined);
    return readRestStream(r.body!);
  }
  const r = await req('POST', CONNECT_CHAT_PATH, { ...headers, 'content-type': 'application/connect+json', accept: 'application/connect+json' }, connectChatBody(prompt), onOpen);
  onClose();
  check(r, 'Chat');
  const chatId = connectChatIdFromHead(r.head);
  if (chatId) await req('POST', CONNECT_DELETE_PATH, { ...headers, 'content-type': 'application/json' }, JSON.stringify({ chat_id: chatId }));
  return readConnectStream(r.body!);
}

export async function holdStreams(t: Target, child: Child, n: number, stallMs: number): Promise<HoldResult> {
  await sleep(300);
  const before = await child.probe('gc');
  // The first half of the answer at once, then the stall: a proxy holds a response's head
  // until the first content, so a stream counts as open once it has started answering.
  const prompt = `[[emu reply="${EXPECTED}" deltas=2 delay=${stallMs}]] Keep this stream open.`;
  let open = 0;
  let opened = 0;
  let openMs = NaN;
  const t0 = performance.now();
  let allOpen: () => void = () => undefined;
  const allOpened = new Promise<void>((resolve) => (allOpen = resolve));
  const onOpen = (): void => {
    open++;
    opened = Math.max(opened, open);
    if (open === n) {
      openMs = performance.now() - t0;
      allOpen();
    }
  };
  const onClose = (): void => {
    open--;
  };
  const errors: string[] = [];
  const runs = Array.from({ length: n }, (_, i) =>
    holdOne(t, i, prompt, onOpen, onClose).then(
      (reply) => {
        if (reply.error) errors.push(reply.error);
        else if (!reply.complete || reply.text !== EXPECTED) errors.push(`unexpected reply ${JSON.stringify(reply.text.slice(0, 60))}`);
      },
      (err: unknown) => {
        errors.push(err instanceof Error ? err.message : String(err));
      },
    ),
  );
  // Measure while every stream is open (or, if they never all are, near the end of the first stall).
  await Promise.race([allOpened, sleep(Math.max(500, stallMs - 2_000))]);
  let rssDuring = 0;
  let heapDuring = 0;
  let rssAfterGc = 0;
  if (open > 0) {
    for (let i = 0; i < 5; i++) {
      const s = await child.probe('sample');
      rssDuring = Math.max(rssDuring, s.rss);
      await sleep(100);
    }
    const settled = await child.probe('gc');
    heapDuring = settled.heapUsed;
    rssAfterGc = settled.rss;
  }
  await Promise.all(runs);
  await settleCleanups();
  return {
    streams: n,
    opened,
    openMs,
    rssBefore: before.rss,
    rssDuring,
    rssAfterGc,
    heapBefore: before.heapUsed,
    heapDuring,
    errors: errors.length,
    errorMessages: errors.slice(0, 5),
  };
}
