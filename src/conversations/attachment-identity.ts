/**
 * How a message's attachments count when a resent history is compared with a stored one
 * (implicit reuse, a stateful conversation's turn plan): by their bytes (SHA-256), never by
 * their names. Every chat UI names a pasted image "image.png", so two different pictures under
 * that name are different messages, and the same bytes resent under another name are the same.
 */

/** A request's attachment (hashed once resolved) or a transcript's description of one. */
export type IdentifiedAttachment = { sha256: string } | { file?: { sha256: string } };

/** The `[image: name]` / `[file: name]` markers attachments leave in the text (attachments/attachment.ts). */
const MARKER = /\[(image|file): [^\]\n]*\]/g;

/** The text with its attachment markers kept in place but their names dropped (only where the message has attachments). */
export function withoutAttachmentNames(content: string, attachments: ReadonlyArray<IdentifiedAttachment> | undefined): string {
  return attachments && attachments.length > 0 ? content.replace(MARKER, '[$1]') : content;
}

/** The attachments' content hashes, in order. */
export function attachmentHashes(attachments: ReadonlyArray<IdentifiedAttachment> | undefined): string[] {
  return (attachments ?? []).map((a) => ('sha256' in a ? a.sha256 : (a.file?.sha256 ?? '')));
}
