/**
 * The neutral attachment every front door maps its image and document parts onto. A door
 * records where the bytes come from; `resolve.ts` turns every source into checked bytes
 * before the turn starts, and the upstream layer uploads them to the serving account.
 */
import type { UpstreamFile } from '../upstream/kimi/types.js';

export type AttachmentKind = 'image' | 'document';

export type AttachmentSource =
  /** Bytes the client sent in the request as base64 (decoded only after its size is checked). */
  | { type: 'base64'; data: string; mime?: string }
  /** A `data:` URL (the same, with its media type in front). */
  | { type: 'data-url'; url: string }
  /** A data URL the body reader took out and decoded already: its placeholder (inline-data.ts). */
  | { type: 'inline'; placeholder: string }
  /** A document given as text (Anthropic's `text` source). */
  | { type: 'text'; text: string; mime?: string }
  /** An http(s) URL the proxy fetches (url-fetch.ts). */
  | { type: 'url'; url: string }
  /** A file uploaded earlier through `/v1/files` by the same API key. */
  | { type: 'file-id'; id: string };

export interface Attachment {
  /** Where the client put it (`messages[1].content[2]`): every refusal names it. */
  param: string;
  /** What the part said it is; the bytes decide (an "image" that is a PDF is refused). */
  hint: AttachmentKind | 'any';
  /** The name shown to the model and used for the upload. */
  name: string;
  source: AttachmentSource;
  /** The checked file, set by `resolveAttachments` before the turn starts. */
  file?: UpstreamFile;
}

/** The in-text marker of an attachment, where the client placed it among the text parts. */
export function attachmentMarker(a: Pick<Attachment, 'hint' | 'name'>): string {
  return `[${a.hint === 'image' ? 'image' : 'file'}: ${a.name}]`;
}

/** The resolved files of `messages`, in order (duplicates are uploaded once; see files/uploads.ts). */
export function filesOf(messages: ReadonlyArray<{ attachments?: readonly Attachment[] }>): UpstreamFile[] {
  const files: UpstreamFile[] = [];
  for (const m of messages) for (const a of m.attachments ?? []) if (a.file) files.push(a.file);
  return files;
}

/** A name for a part that came without one: the URL's last path segment, or a numbered default. */
export function nameFor(hint: AttachmentKind | 'any', n: number, url?: string): string {
  if (url && !url.startsWith('data:')) {
    try {
      const last = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
      if (last) return last.slice(0, 200);
    } catch {
      // not a URL we can read a name from
    }
  }
  return `${hint === 'image' ? 'image' : 'file'}-${n}`;
}
