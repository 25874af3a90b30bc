/**
 * The session id agent clients send with every step of one session: opencode `x-session-id`,
 * Codex `session-id` (`session_id` in some versions) and `prompt_cache_key`, Claude Code
 * `x-claude-code-session-id`, Qwen Code's Responses mode `prompt_cache_key`. Every door passes it to the core, where it scopes
 * implicit conversation reuse: two sessions with the same opening never continue each
 * other's Kimi chat. A header wins over the body field (Codex sends both, with one value).
 */
const SESSION_HEADERS = ['x-session-id', 'session-id', 'session_id', 'x-claude-code-session-id'];
const MAX_HINT = 200;

export function sessionHintFrom(headers: Record<string, string | string[] | undefined>, promptCacheKey?: string | null): string | undefined {
  for (const name of SESSION_HEADERS) {
    const v = headers[name];
    if (typeof v === 'string' && v.trim()) return `${name}:${v.trim().slice(0, MAX_HINT)}`;
  }
  return promptCacheKey ? `prompt_cache_key:${promptCacheKey.slice(0, MAX_HINT)}` : undefined;
}
