/** What the request adapters' tests expect a door to turn an agent's history into. */
import type { ChatMessage } from '../../conversations/messages.js';

export interface CallAndResult {
  id: string;
  name: string;
  /** The call's arguments as the neutral input carries them (a JSON text). */
  arguments: string;
  /** The tool result the client sent back for it. */
  result: string;
}

/** One step of an agent loop as neutral messages: the assistant's text and calls, then each call's result in order. */
export function agentStep(content: string, calls: CallAndResult[]): ChatMessage[] {
  return [
    { role: 'assistant', content, toolCalls: calls.map(({ id, name, arguments: args }) => ({ id, name, arguments: args })) },
    ...calls.map((c): ChatMessage => ({ role: 'tool', content: c.result, toolCallId: c.id, name: c.name })),
  ];
}
