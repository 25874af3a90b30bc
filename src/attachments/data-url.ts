/** `data:` URLs and bare base64 fields, size-checked before anything is decoded. */
import { ProxyError } from '../core/errors.js';

export interface DecodedData {
  bytes: Buffer;
  /** The media type the URL declared (the bytes still decide). */
  mime?: string;
}

const BASE64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Decoded size of a base64 text, from its length alone. */
export function base64Size(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return Math.floor((text.length * 3) / 4) - padding;
}

/** Refuses an attachment of `size` bytes over `maxBytes`, in the words every such refusal uses. */
export function checkAttachmentSize(size: number, maxBytes: number, param: string): void {
  if (size > maxBytes) throw new ProxyError('attachment_too_large', `${param}: the attachment is ${size} bytes; the limit is ${maxBytes} bytes.`, { param });
}

/**
 * Decodes base64 after checking its decoded size against `maxBytes`. The usual payload (no
 * whitespace, length a multiple of 4) is decoded without scanning it first: the decoder skips
 * any character outside the alphabet, and every skipped one makes the result shorter than
 * the length promises, so an exact length proves the text was clean. Anything else takes the
 * slow path: whitespace removed, the alphabet checked, then decoded.
 */
export function decodeBase64(text: string, maxBytes: number, param: string): Buffer {
  if (text.length % 4 === 0 && base64Size(text) <= maxBytes) {
    const bytes = Buffer.from(text, 'base64');
    if (bytes.byteLength === base64Size(text)) return bytes;
  }
  const clean = /\s/.test(text) ? text.replace(/\s+/g, '') : text;
  checkAttachmentSize(base64Size(clean), maxBytes, param);
  if (!BASE64_RE.test(clean)) throw new ProxyError('invalid_request', `${param}: the data is not valid base64.`, { param });
  return Buffer.from(clean, 'base64');
}

export function isDataUrl(url: string): boolean {
  return url.slice(0, 5).toLowerCase() === 'data:';
}

/** What the header of a data URL (between `data:` and `,`) says: its media type, and whether the data is base64. */
export function dataUrlHeader(header: string): { mime: string | undefined; base64: boolean } {
  const parts = header.split(';').map((s) => s.trim());
  return { mime: parts[0]?.toLowerCase() || undefined, base64: parts.slice(1).some((p) => p.toLowerCase() === 'base64') };
}

/** `data:[<mime>][;params][;base64],<data>`; only base64 payloads carry binary files, text ones are taken as UTF-8. */
export function decodeDataUrl(url: string, maxBytes: number, param: string): DecodedData {
  const comma = url.indexOf(',');
  if (comma < 0) throw new ProxyError('invalid_request', `${param}: a data URL needs a "," before its data.`, { param });
  const { mime, base64 } = dataUrlHeader(url.slice(5, comma));
  const data = url.slice(comma + 1);
  if (base64) {
    const bytes = decodeBase64(data, maxBytes, param);
    return mime ? { bytes, mime } : { bytes };
  }
  if (data.length > maxBytes * 3) throw new ProxyError('attachment_too_large', `${param}: the attachment is over the limit of ${maxBytes} bytes.`, { param });
  let text: string;
  try {
    text = decodeURIComponent(data);
  } catch {
    throw new ProxyError('invalid_request', `${param}: the data URL's text is not valid percent-encoding.`, { param });
  }
  const bytes = Buffer.from(text, 'utf8');
  checkAttachmentSize(bytes.byteLength, maxBytes, param);
  return mime ? { bytes, mime } : { bytes };
}
