/**
 * What an attachment is, decided from its bytes (file-type's magic numbers) and, for text
 * formats that have none, from a UTF-8 check plus the name or declared type. Only the types
 * Kimi reads are let through: a renamed executable is refused whatever the client called it.
 */
import { fileTypeFromBuffer } from 'file-type';
import { ProxyError } from '../core/errors.js';
import type { AttachmentKind } from './attachment.js';

const IMAGES: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif', 'image/bmp': 'bmp' };

const BINARY_DOCUMENTS: Record<string, string> = {
  'application/pdf': 'pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'pptx',
};

const TEXT_BY_EXT: Record<string, string> = {
  txt: 'text/plain',
  md: 'text/markdown',
  markdown: 'text/markdown',
  csv: 'text/csv',
  json: 'application/json',
  html: 'text/html',
  htm: 'text/html',
  xml: 'application/xml',
  yaml: 'application/yaml',
  yml: 'application/yaml',
};

/** Source files are read as plain text. */
const CODE_EXT = new Set(
  'js mjs cjs ts tsx jsx py java c h cc cpp hpp cs go rs rb php swift kt kts scala sh bash zsh ps1 sql css scss less vue svelte lua r m pl toml ini cfg conf log tex'.split(' '),
);

const TEXT_MIMES = new Set([...Object.values(TEXT_BY_EXT), 'text/x-python', 'text/javascript', 'application/javascript', 'text/x-c', 'text/x-java-source']);

export interface SniffedType {
  mime: string;
  kind: AttachmentKind;
  ext: string;
}

function extOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

function looksLikeUtf8Text(bytes: Buffer): boolean {
  const head = bytes.subarray(0, 64 * 1024);
  if (head.includes(0)) return false;
  try {
    // A multi-byte character cut at the window's end is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: head.byteLength < bytes.byteLength });
    return true;
  } catch {
    return false;
  }
}

function textType(name: string, declared: string | undefined): SniffedType {
  const ext = extOf(name);
  if (TEXT_BY_EXT[ext]) return { mime: TEXT_BY_EXT[ext], kind: 'document', ext };
  if (CODE_EXT.has(ext)) return { mime: 'text/plain', kind: 'document', ext };
  const base = declared?.split(';')[0]?.trim();
  if (base && TEXT_MIMES.has(base)) {
    const known = Object.entries(TEXT_BY_EXT).find(([, m]) => m === base)?.[0] ?? 'txt';
    return { mime: base, kind: 'document', ext: known };
  }
  return { mime: 'text/plain', kind: 'document', ext: 'txt' };
}

export const ACCEPTED_TYPES_TEXT = 'images (PNG, JPEG, WebP, GIF, BMP) and documents (PDF, DOCX, XLSX, PPTX, text, Markdown, CSV, JSON, HTML, source code)';

/** The attachment's type, or a 415 naming the part. */
export async function sniffType(bytes: Buffer, name: string, declared: string | undefined, param: string): Promise<SniffedType> {
  if (bytes.byteLength === 0) throw new ProxyError('invalid_request', `${param}: the attachment is empty.`, { param });
  const found = await fileTypeFromBuffer(bytes);
  if (found) {
    if (IMAGES[found.mime]) return { mime: found.mime, kind: 'image', ext: IMAGES[found.mime]! };
    if (BINARY_DOCUMENTS[found.mime]) return { mime: found.mime, kind: 'document', ext: BINARY_DOCUMENTS[found.mime]! };
    throw new ProxyError('unsupported_media_type', `${param}: the attachment is ${found.mime}; Kimi accepts ${ACCEPTED_TYPES_TEXT}.`, { param });
  }
  if (looksLikeUtf8Text(bytes)) return textType(name, declared);
  throw new ProxyError('unsupported_media_type', `${param}: the attachment's type is not recognised; Kimi accepts ${ACCEPTED_TYPES_TEXT}.`, { param });
}

/** The name with an extension that matches the type (Kimi's parser goes by it). */
export function nameWithExt(name: string, ext: string): string {
  const current = extOf(name);
  if (current === ext || (ext === 'jpg' && current === 'jpeg') || (ext === 'txt' && current !== '' && CODE_EXT.has(current))) return name;
  if (ext === 'txt' && TEXT_BY_EXT[current]) return name;
  return `${name}.${ext}`;
}
