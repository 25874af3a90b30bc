/**
 * A stable hash of a conversation as a client would resend it: system, user and assistant
 * messages in order, assistant text compared without what the proxy adds around it.
 * A stateless request whose history (up to its last assistant reply) has the fingerprint
 * of a stored implicit conversation continues that upstream chat.
 */
import { createHash } from 'node:crypto';
import { canonicalContent } from './turn-plan.js';

export function fingerprint(messages: ReadonlyArray<{ role: string; content: string }>): string {
  const h = createHash('sha256');
  for (const m of messages) {
    if (m.role === 'tool') continue;
    h.update(m.role);
    h.update('\u0000');
    h.update(canonicalContent(m.role, m.content));
    h.update('\u0001');
  }
  return h.digest('base64url');
}
