/**
 * A stable hash of a conversation as a client would resend it: system, user and assistant
 * messages in order, assistant text compared without what the proxy adds around it, the
 * function calls of assistant turns (id, name, arguments compared as JSON values) and the
 * tool results that answer them (by call id). `context` adds what else must be equal for
 * the upstream chat to be continued (the offered functions: their prompt is in that chat).
 * A stateless request whose history (up to its last assistant reply) has the fingerprint
 * of a stored implicit conversation continues that upstream chat.
 * Attachments count by their bytes, not their names (attachment-identity.ts).
 */
import { createHash } from 'node:crypto';
import type { ToolCall } from '../core/chat-event.js';
import { attachmentHashes, withoutAttachmentNames, type IdentifiedAttachment } from './attachment-identity.js';
import { canonicalContent } from './turn-plan.js';

export interface FingerprintMessage {
  role: string;
  content: string;
  toolCalls?: ToolCall[];
  toolCallId?: string;
  attachments?: ReadonlyArray<IdentifiedAttachment>;
}

/** Arguments compared as values: clients re-serialise them (spacing, key order kept). */
function canonicalArguments(args: string): string {
  try {
    return JSON.stringify(JSON.parse(args));
  } catch {
    return args.trim();
  }
}

export function fingerprint(messages: ReadonlyArray<FingerprintMessage>, context = ''): string {
  const h = createHash('sha256');
  if (context) h.update(`${context}\u0002`);
  for (const m of messages) {
    // Results without a call id are not kept by the proxy, so they cannot be compared.
    if (m.role === 'tool' && m.toolCallId === undefined) continue;
    h.update(m.role);
    h.update('\u0000');
    if (m.toolCallId !== undefined) h.update(`${m.toolCallId}\u0000`);
    const content = withoutAttachmentNames(m.content, m.attachments);
    h.update(m.role === 'tool' ? content.replace(/\r\n/g, '\n') : canonicalContent(m.role, content));
    for (const hash of attachmentHashes(m.attachments)) h.update(`\u0004${hash}`);
    for (const c of m.toolCalls ?? []) h.update(`\u0003${c.id}\u0000${c.name}\u0000${canonicalArguments(c.arguments)}`);
    h.update('\u0001');
  }
  return h.digest('base64url');
}
