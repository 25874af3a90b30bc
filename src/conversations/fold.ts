/**
 * Folds an OpenAI message list into the one user message Kimi receives. A lone user message
 * is sent as is. Otherwise the text is a clearly delimited transcript: system instructions,
 * the earlier turns, and the latest user message(s) last, with an explicit instruction to
 * answer those, so that the model does not answer an earlier turn or continue the transcript.
 */
import type { ChatMessage } from './messages.js';

function tag(m: ChatMessage): string {
  // A result with a call id was rendered as a labelled data record by the tool dialect (tools/history.ts).
  if (m.role === 'tool' && m.toolCallId !== undefined) return m.content;
  const name = m.role === 'tool' ? 'tool_result' : m.role;
  const attr = m.name ? ` name="${m.name.replace(/["<>]/g, '')}"` : '';
  return `<${name}${attr}>\n${m.content}\n</${name}>`;
}

export function foldMessages(messages: ChatMessage[]): string {
  const nonEmpty = messages.filter((m) => m.content.trim() !== '' || m.role === 'user');
  if (nonEmpty.length === 1 && nonEmpty[0]!.role === 'user') return nonEmpty[0]!.content;

  const system = nonEmpty.filter((m) => m.role === 'system');
  const turns = nonEmpty.filter((m) => m.role !== 'system');
  // The latest user input: every user/tool message after the last assistant message.
  let split = turns.length;
  while (split > 0 && turns[split - 1]!.role !== 'assistant') split--;
  const history = turns.slice(0, split);
  const latest = turns.slice(split);

  const parts: string[] = [];
  if (system.length > 0) parts.push(`<system_instructions>\n${system.map((m) => m.content).join('\n\n')}\n</system_instructions>`);
  if (history.length > 0) parts.push(`<conversation_history>\n${history.map(tag).join('\n')}\n</conversation_history>`);
  if (latest.length > 0) {
    const onlyResults = latest.every((m) => m.role === 'tool');
    parts.push(
      onlyResults
        ? 'Continue the task using the tool results below. The conversation history above is context only; do not repeat it.'
        : history.length > 0
          ? 'Reply to the latest user message below. The conversation history above is context only; do not repeat it.'
          : 'Reply to the user message below, following the system instructions above.',
    );
    parts.push(`<latest_user_message>\n${latest.map((m) => (m.role === 'user' ? m.content : tag(m))).join('\n\n')}\n</latest_user_message>`);
  } else {
    parts.push('Continue the conversation above as the assistant.');
  }
  return parts.join('\n\n');
}
