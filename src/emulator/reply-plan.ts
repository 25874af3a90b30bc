/**
 * Turns a user message and its directives into a deterministic reply plan: answer and
 * thinking deltas, search results, pacing, chunking and the fault to inject. A pure
 * function of its inputs, so exact-byte tests can predict every stream.
 */
import { flagDirective, intDirective, parseDirectives, stringDirective, type Directives } from './directives.js';
import { DEFAULT_RETRY_AFTER_SEC, isFaultName } from './faults.js';
import { shortDigest } from './ids.js';
import { isRepairRequest, plannedCalls, toolResultAnswer } from './tool-replies.js';
import type { FaultSpec } from './types.js';

export interface SearchResult {
  /** 1-based. */
  index: number;
  title: string;
  url: string;
  siteName: string;
  snippet: string;
  /** Legacy `date`. */
  date: string;
  /** Connect `publishTime`. */
  publishTime: string;
  /** Connect citation reference, `web_search:1#<index-1>`. */
  refIndex: string;
}

export type Chunking = 'none' | 'hostile' | 'byte';

/**
 * How events reach the socket: `batch` puts every event pushed between two waits into one
 * write (with no delay, a whole answer in one or two writes); `event` writes each event on
 * its own, a turn of the event loop apart, as a server that streams tokens one by one does.
 */
export type Writes = 'batch' | 'event';

export interface ReplyPlan {
  answerDeltas: string[];
  thinkDeltas: string[];
  searchResults: SearchResult[];
  /** Connect: 2026 tool blocks, inline citation markers and `message.refs.searchChunks`. */
  cite: boolean;
  delayMs: number;
  stallMs: number;
  /** Connect heartbeat interval while idle; 0 = none. */
  heartbeatMs: number;
  chunking: Chunking;
  writes: Writes;
  seed: number;
  crlf: boolean;
  fault?: FaultSpec;
  digest: string;
}

export interface ReplyContext {
  /** The full user message text, directives included. */
  text: string;
  /** `cite` is a Connect-only directive. */
  protocol: 'rest' | 'connect';
  thinkingRequested: boolean;
  searchEnabled: boolean;
  /** User messages on this branch before the new one, oldest first. */
  history: string[];
  chatId: string;
  defaultDelayMs: number;
  defaultHeartbeatMs: number;
  /** Files attached to this message (Connect `file` blocks, legacy `refs`), as the emulator stored them. */
  files?: AttachedFileFacts[];
}

export interface AttachedFileFacts {
  name: string;
  contentType: string;
  size: number;
  sha256: string;
}

/** How the emulator "sees" attached files: each one's name, type, size and SHA-256, so tests can compare bytes. */
export function describeFiles(files: AttachedFileFacts[]): string {
  if (files.length === 0) return 'Files: none.';
  return `Files: ${files.map((f) => `${f.name} (${f.contentType}, ${f.size} bytes, sha256 ${f.sha256})`).join('; ')}.`;
}

export const CITE_OPEN = '\ue3a0cite';
export const CITE_SEP = '\ue3a3';
export const CITE_CLOSE = '\ue3a8';

/** Words with their trailing spaces attached ("a b" → ["a ", "b"]). */
export function splitWords(text: string): string[] {
  if (text === '') return [];
  return text.match(/\s*\S+\s*/g) ?? [text];
}

/** n nearly equal parts by code points (never splitting a surrogate pair); n is capped at the length. */
export function splitEvenly(text: string, n: number): string[] {
  const cps = Array.from(text);
  if (cps.length === 0) return [];
  const parts = Math.max(1, Math.min(n, cps.length));
  const base = Math.floor(cps.length / parts);
  const extra = cps.length % parts;
  const out: string[] = [];
  let at = 0;
  for (let i = 0; i < parts; i++) {
    const size = base + (i < extra ? 1 : 0);
    out.push(cps.slice(at, at + size).join(''));
    at += size;
  }
  return out;
}

export function searchResults(n: number): SearchResult[] {
  return Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    return {
      index: i,
      title: `Result ${i}`,
      url: `https://example.com/${i}`,
      siteName: 'example.com',
      snippet: `Deterministic snippet of result ${i}.`,
      date: '2024-05-01',
      publishTime: '2025-07-11T00:00:00Z',
      refIndex: `web_search:1#${k}`,
    };
  });
}

/** Inserts one citation marker for all results right after the first sentence. */
export function insertCitation(answer: string, results: SearchResult[]): string {
  if (results.length === 0) return answer;
  const marker = CITE_OPEN + results.map((r) => CITE_SEP + r.refIndex).join('') + CITE_CLOSE;
  const m = /[.!?。！？](?=\s|$)/u.exec(answer);
  const at = m ? m.index + m[0].length : answer.length;
  return answer.slice(0, at) + marker + answer.slice(at);
}

function faultFrom(d: Directives): FaultSpec | undefined {
  const name = stringDirective(d, 'fault');
  if (!name || !isFaultName(name)) return undefined;
  const ra = stringDirective(d, 'retry_after');
  const spec: FaultSpec = {
    fault: name,
    after: intDirective(d, 'after', 0),
    retryAfterSec: ra === 'none' ? null : intDirective(d, 'retry_after', DEFAULT_RETRY_AFTER_SEC),
  };
  const code = stringDirective(d, 'code');
  if (code) spec.code = code;
  return spec;
}

/** The explicit answer text, if any directive fixes it (`reply` wins over `turn` and `history`). */
function explicitAnswer(d: Directives, ctx: ReplyContext): string | undefined {
  const reply = stringDirective(d, 'reply');
  if (reply !== undefined) return reply;
  if (flagDirective(d, 'turn')) return `turn=${ctx.history.length + 1} chat=${ctx.chatId}`;
  if (flagDirective(d, 'history')) return ctx.history.length > 0 ? ctx.history.join(' | ') : '(empty)';
  if (flagDirective(d, 'files')) return describeFiles(ctx.files ?? []);
  return undefined;
}

/**
 * Tool behaviour (tool-replies.ts): tool results as the latest input are quoted; the proxy's
 * repair request is answered from the branch's last directive, corrected; a `call`
 * directive writes a call block into the answer (or into the thinking with `think_call`).
 */
function toolAnswer(d: Directives, ctx: ReplyContext): { answer: string; thinkExtra?: string } | undefined {
  const quoted = toolResultAnswer(ctx.text);
  if (quoted !== undefined) return { answer: quoted };
  let directives = d;
  const repair = isRepairRequest(ctx.text);
  if (repair) {
    const earlier = ctx.history.findLast((h) => h.includes('[[emu'));
    if (earlier === undefined) return undefined;
    directives = parseDirectives(earlier);
    const fix = stringDirective(directives, 'fixreply');
    if (fix !== undefined) return { answer: fix };
  }
  const planned = plannedCalls(directives, repair);
  if (!planned) return undefined;
  if (planned.inThinking && ctx.thinkingRequested) return { answer: planned.prose || 'Let me check.', thinkExtra: planned.block };
  return { answer: planned.prose ? `${planned.prose}\n${planned.block}` : planned.block };
}

export function buildReplyPlan(ctx: ReplyContext, directives: Directives = parseDirectives(ctx.text)): ReplyPlan {
  const d = directives;
  const chars = Array.from(ctx.text).length;
  const digest = shortDigest(ctx.text);
  const deltasWanted = d.has('deltas') ? Math.max(1, intDirective(d, 'deltas', 1)) : undefined;
  const results = ctx.searchEnabled ? searchResults(intDirective(d, 'search', 0)) : [];
  const cite = ctx.protocol === 'connect' && flagDirective(d, 'cite') && results.length > 0;

  const tool = toolAnswer(d, ctx);
  let answer = tool?.answer ?? explicitAnswer(d, ctx);
  let answerDeltas: string[];
  if (answer === undefined && deltasWanted !== undefined) {
    answerDeltas = Array.from({ length: deltasWanted }, (_, k) => (k + 1 < deltasWanted ? `w${k + 1} ` : `w${k + 1}`));
    if (cite) answerDeltas = splitWords(insertCitation(answerDeltas.join(''), results));
  } else {
    answer ??= `Emulator reply: the message has ${chars} characters (digest ${digest}).${ctx.files?.length ? ` ${describeFiles(ctx.files)}` : ''}`;
    if (cite) answer = insertCitation(answer, results);
    answerDeltas = deltasWanted !== undefined ? splitEvenly(answer, deltasWanted) : splitWords(answer);
  }

  let think = stringDirective(d, 'think') ?? `Thinking about a message of ${chars} characters.`;
  if (tool?.thinkExtra !== undefined) think = `${think}\n${tool.thinkExtra}`;
  const chunkingValue = stringDirective(d, 'chunking');
  const plan: ReplyPlan = {
    answerDeltas,
    thinkDeltas: ctx.thinkingRequested ? splitWords(think) : [],
    searchResults: results,
    cite,
    delayMs: intDirective(d, 'delay', ctx.defaultDelayMs),
    stallMs: intDirective(d, 'stall', 0),
    heartbeatMs: intDirective(d, 'hb', ctx.defaultHeartbeatMs),
    chunking: chunkingValue === 'hostile' || chunkingValue === 'byte' ? chunkingValue : 'none',
    writes: stringDirective(d, 'writes') === 'event' ? 'event' : 'batch',
    seed: d.has('seed') ? intDirective(d, 'seed', 0) : parseInt(digest, 16),
    crlf: flagDirective(d, 'crlf'),
    digest,
  };
  const fault = faultFrom(d);
  if (fault) plan.fault = fault;
  return plan;
}
