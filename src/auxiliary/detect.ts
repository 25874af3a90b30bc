/**
 * Decides whether a request is an auxiliary call (signatures.ts), and keeps only what its task
 * needs: the first user message for a title or tags, the latest one for follow-ups and search
 * queries — never the whole history the client embedded or resent.
 */
import type { ChatMessage } from '../conversations/messages.js';
import type { AuxiliarySignature, AuxiliaryTask } from './signatures.js';

/** What the cheap answer needs of an auxiliary call. */
export interface AuxiliaryCall {
  task: AuxiliaryTask;
  client: string;
  /** The user text the task is about (trimmed to EXCERPT_CHARS). */
  excerpt: string;
  /** The client asked for a JSON object under this key (`{"title": …}`); absent: plain text. */
  jsonKey: string | undefined;
}

/** Enough of a message to name or tag a conversation; an upstream prompt stays far below 1 KB. */
export const EXCERPT_CHARS = 400;

/** The JSON key each client's prompt names when it wants JSON back. */
const JSON_KEYS: Record<AuxiliaryTask, string> = { title: 'title', tags: 'tags', 'follow-ups': 'follow_ups', queries: 'queries' };

function matches(sig: AuxiliarySignature, messages: readonly ChatMessage[]): ChatMessage | undefined {
  const test = (m: ChatMessage): boolean => sig.pattern.test(m.content.trim());
  if (sig.place === 'system') return messages.find((m) => m.role === 'system' && test(m));
  if (sig.place === 'any-user') return messages.find((m) => m.role === 'user' && test(m));
  const last = messages.findLast((m) => m.role === 'user');
  return last && test(last) ? last : undefined;
}

/** Cuts at EXCERPT_CHARS code points (never inside a surrogate pair). */
export function excerptOf(text: string): string {
  const points = Array.from(text.replace(/\s+/g, ' ').trim());
  return points.length <= EXCERPT_CHARS ? points.join('') : `${points.slice(0, EXCERPT_CHARS).join('')}…`;
}

/** User turns written inside one prompt: Open WebUI's `USER: …` in <chat_history>, LobeChat's `user: …` lines. */
function embeddedUserTurns(text: string): string[] {
  const history = /<chat_history>([\s\S]*?)<\/chat_history>/i.exec(text)?.[1] ?? text;
  const turns: string[] = [];
  const re = /^(user|assistant|system)\s*:\s?/gim;
  const marks = [...history.matchAll(re)];
  marks.forEach((m, i) => {
    if (m[1]!.toLowerCase() !== 'user') return;
    const start = m.index + m[0].length;
    const end = i + 1 < marks.length ? marks[i + 1]!.index : history.length;
    const body = history.slice(start, end).trim();
    if (body !== '') turns.push(body);
  });
  return turns;
}

/** Cherry Studio and others send the conversation as a JSON list of `{role, …text}`. */
function jsonUserTurns(text: string): string[] {
  const t = text.trim();
  if (!t.startsWith('[')) return [];
  try {
    const list: unknown = JSON.parse(t);
    if (!Array.isArray(list)) return [];
    return list.flatMap((m: unknown) => {
      const o = (typeof m === 'object' && m !== null ? m : {}) as Record<string, unknown>;
      const body = o.mainText ?? o.content ?? o.text;
      return o.role === 'user' && typeof body === 'string' && body.trim() !== '' ? [body] : [];
    });
  } catch {
    return [];
  }
}

/** The user turns of the conversation the auxiliary call is about, oldest first. */
function userTurns(messages: readonly ChatMessage[], instruction: ChatMessage): string[] {
  const embedded = embeddedUserTurns(instruction.content);
  if (embedded.length > 0) return embedded;
  const turns: string[] = [];
  for (const m of messages) {
    if (m === instruction || m.role !== 'user') continue;
    const fromJson = jsonUserTurns(m.content);
    if (fromJson.length > 0) turns.push(...fromJson);
    else {
      const lines = embeddedUserTurns(m.content);
      turns.push(...(lines.length > 0 ? lines : [m.content]));
    }
  }
  return turns.filter((t) => t.trim() !== '');
}

/**
 * The auxiliary call these messages make, if any. Requests that offer tools are never
 * auxiliary: an agent's sub-agent with tools needs its whole context.
 */
export function detectAuxiliary(messages: readonly ChatMessage[], signatures: readonly AuxiliarySignature[], hasTools: boolean): AuxiliaryCall | undefined {
  if (hasTools) return undefined;
  for (const sig of signatures) {
    const instruction = matches(sig, messages);
    if (!instruction) continue;
    const turns = userTurns(messages, instruction);
    const about = sig.task === 'title' || sig.task === 'tags' ? turns[0] : turns.at(-1);
    const key = JSON_KEYS[sig.task];
    const wantsJson = new RegExp(`"${key}"\\s*:`).test(instruction.content);
    return { task: sig.task, client: sig.client, excerpt: excerptOf(about ?? ''), jsonKey: wantsJson ? key : undefined };
  }
  return undefined;
}
