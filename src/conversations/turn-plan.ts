/**
 * Decides how a stateful turn relates to the stored conversation, whatever the client sends:
 * - `continue`: the client sent only the new message, the whole history plus a new turn,
 *   or a trimmed history (the last N messages) plus a new turn → send only what is new;
 * - `branch`: the client edited or regenerated an earlier turn → branch upstream from the
 *   assistant message before the change (Connect `parent_id`), not from the latest leaf;
 * - `restart`: no usable branch point (or the protocol cannot branch) → a new upstream chat
 *   seeded with the whole incoming history.
 * Alignment looks only at user/assistant messages; system and tool messages ride along.
 */
import { stripDecorations } from '../render/openai/strip-decorations.js';
import type { TranscriptMessage } from '../store/store.js';
import { attachmentHashes, withoutAttachmentNames } from './attachment-identity.js';
import type { ChatMessage } from './messages.js';

export type TurnPlan =
  | { kind: 'continue'; fresh: ChatMessage[] }
  /** `keep`: how many stored transcript messages stay (the rest belongs to the abandoned branch). */
  | { kind: 'branch'; fresh: ChatMessage[]; keep: number; parentId: string }
  | { kind: 'restart'; fresh: ChatMessage[] };

const norm = (s: string): string => s.replace(/\r\n/g, '\n').trim();

/**
 * An assistant reply as the client resends it carries what the renderer added around the
 * upstream text (`<think>` blocks, citation markers, sources); the stored answer has none
 * (and older stored answers may have `[n]` markers): compare both without them.
 */
export function canonicalContent(role: string, content: string): string {
  const c = norm(content);
  return role === 'assistant' ? norm(stripDecorations(c)) : c;
}

/** The same message, attachments compared by their bytes (attachment-identity.ts). */
export function sameMessage(stored: TranscriptMessage, incoming: ChatMessage): boolean {
  if (stored.role !== incoming.role) return false;
  const storedText = canonicalContent(stored.role, withoutAttachmentNames(stored.content, stored.attachments));
  const incomingText = canonicalContent(incoming.role, withoutAttachmentNames(incoming.content, incoming.attachments));
  return storedText === incomingText && attachmentHashes(stored.attachments).join() === attachmentHashes(incoming.attachments).join();
}

const isDialog = (m: { role: string }): boolean => m.role === 'user' || m.role === 'assistant';

/** System messages the conversation already has are not sent again. */
function withoutKnownSystem(messages: ChatMessage[], transcript: TranscriptMessage[]): ChatMessage[] {
  const known = new Set(transcript.filter((m) => m.role === 'system').map((m) => norm(m.content)));
  return messages.filter((m) => m.role !== 'system' || !known.has(norm(m.content)));
}

export function planTurn(transcript: TranscriptMessage[], incoming: ChatMessage[], canBranch: boolean): TurnPlan {
  const tIdx = transcript.flatMap((m, i) => (isDialog(m) ? [i] : []));
  const iIdx = incoming.flatMap((m, i) => (isDialog(m) ? [i] : []));
  const T = tIdx.map((i) => transcript[i]!);
  const I = iIdx.map((i) => incoming[i]!);

  // Only the new turn (no assistant message at all): continue at the latest leaf.
  if (!I.some((m) => m.role === 'assistant')) return { kind: 'continue', fresh: withoutKnownSystem(incoming, transcript) };

  // The client's dialog starts at stored position p (p = 0: full history; p > 0: trimmed) and runs past the end.
  for (let p = 0; p < T.length; p++) {
    const m = T.length - p;
    if (I.length <= m) continue;
    let aligned = true;
    for (let k = 0; k < m && aligned; k++) aligned = sameMessage(T[p + k]!, I[k]!);
    if (aligned) return { kind: 'continue', fresh: withoutKnownSystem(incoming.slice(iIdx[m - 1]! + 1), transcript) };
  }

  // Divergence (edit) or a shorter history (regenerate): branch after the last shared assistant turn.
  let common = 0;
  while (common < T.length && common < I.length && sameMessage(T[common]!, I[common]!)) common++;
  let j = common - 1;
  while (j >= 0 && I[j]!.role !== 'assistant') j--;
  const parentId = j >= 0 ? T[j]!.upstreamId : undefined;
  if (canBranch && j >= 0 && parentId) {
    return { kind: 'branch', fresh: withoutKnownSystem(incoming.slice(iIdx[j]! + 1), transcript), keep: tIdx[j]! + 1, parentId };
  }
  return { kind: 'restart', fresh: incoming };
}
