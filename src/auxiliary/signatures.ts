/**
 * The background ("auxiliary") prompts chat clients and agents send besides the user's own
 * turns — titles, tags, follow-up suggestions, search queries — recognised by documented
 * signatures. One table; config (AUXILIARY_SIGNATURES) adds entries, never replaces these.
 *
 * Each signature is a short, stable piece of the client's default prompt (not the whole
 * prompt: users and versions reword the rest), checked against one place in the request.
 * Each is pinned by a test with the client's request shape (signatures.test.ts).
 */

export const AUXILIARY_TASKS = ['title', 'tags', 'follow-ups', 'queries'] as const;
export type AuxiliaryTask = (typeof AUXILIARY_TASKS)[number];

/** Which message the signature is looked for in. */
export type SignaturePlace = 'system' | 'last-user' | 'any-user';

export interface AuxiliarySignature {
  /** Who sends it, for logs and docs (`open-webui`, `lobechat`, … or `config`). */
  readonly client: string;
  readonly task: AuxiliaryTask;
  readonly place: SignaturePlace;
  readonly pattern: RegExp;
}

export const AUXILIARY_SIGNATURES: readonly AuxiliarySignature[] = [
  // Open WebUI task prompts (backend config.py DEFAULT_*_PROMPT_TEMPLATE): one user message
  // holding the instructions and the chat history between <chat_history> tags.
  { client: 'open-webui', task: 'title', place: 'last-user', pattern: /^### Task:\s*Generate a concise, 3-5 word title/i },
  { client: 'open-webui', task: 'title', place: 'last-user', pattern: /^Create a concise, 3-5 word title with an emoji as a title for the chat history/i },
  { client: 'open-webui', task: 'tags', place: 'last-user', pattern: /^### Task:\s*Generate 1-3 broad tags categorizing the main themes of the chat history/i },
  { client: 'open-webui', task: 'follow-ups', place: 'last-user', pattern: /^### Task:\s*Suggest 3-5 relevant follow-up questions or prompts/i },
  { client: 'open-webui', task: 'queries', place: 'last-user', pattern: /^### Task:\s*Analyze the chat history to determine the necessity of generating search queries/i },
  // LobeChat topic title (chainSummaryTitle): a system prompt, then the history as "role: text" lines.
  { client: 'lobechat', task: 'title', place: 'system', pattern: /你需要将用户的会话总结为\s*\d+\s*个字以内的标题/ },
  { client: 'lobechat', task: 'title', place: 'system', pattern: /summarize user conversations into titles within \d+ characters/i },
  { client: 'lobechat', task: 'title', place: 'system', pattern: /professional conversation summarizer\. Generate a concise title/i },
  // NextChat topic (Locale Store.Prompt.Topic): the history as messages, then this as the last user message.
  { client: 'nextchat', task: 'title', place: 'last-user', pattern: /directly return a brief topic of this sentence/i },
  { client: 'nextchat', task: 'title', place: 'last-user', pattern: /直接返回这句话的简要主题/ },
  // Cherry Studio topic naming: a system prompt, then the conversation.
  { client: 'cherry-studio', task: 'title', place: 'system', pattern: /^Summarize the conversation into a title in .{1,40} within \d+ (words|characters)/i },
  // opencode's title generator on its small model: system "You are a title generator…", then this user message and the prompt.
  { client: 'opencode', task: 'title', place: 'any-user', pattern: /^Generate a title for this conversation:\s*$/i },
];

/**
 * `AUXILIARY_SIGNATURES` from config: a JSON list of `{task, pattern, place?, flags?}`
 * (place defaults to `last-user`). Throws a message naming the bad entry.
 */
export function parseSignatures(json: string): AuxiliarySignature[] {
  let list: unknown;
  try {
    list = JSON.parse(json);
  } catch {
    throw new Error('expected a JSON list of {"task","pattern","place"?,"flags"?} objects');
  }
  if (!Array.isArray(list)) throw new Error('expected a JSON list of {"task","pattern","place"?,"flags"?} objects');
  return list.map((raw: unknown, i) => {
    const e = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    if (typeof e.task !== 'string' || !(AUXILIARY_TASKS as readonly string[]).includes(e.task)) {
      throw new Error(`entry ${i}: task must be one of ${AUXILIARY_TASKS.join(', ')}`);
    }
    const place = e.place ?? 'last-user';
    if (place !== 'system' && place !== 'last-user' && place !== 'any-user') throw new Error(`entry ${i}: place must be system, last-user or any-user`);
    if (typeof e.pattern !== 'string' || e.pattern === '') throw new Error(`entry ${i}: pattern must be a non-empty regular expression`);
    const flags = typeof e.flags === 'string' ? e.flags : 'i';
    let pattern: RegExp;
    try {
      pattern = new RegExp(e.pattern, flags);
    } catch (err) {
      throw new Error(`entry ${i}: ${(err as Error).message}`, { cause: err });
    }
    return { client: 'config', task: e.task as AuxiliaryTask, place, pattern };
  });
}
