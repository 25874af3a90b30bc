/**
 * Large base64 data URLs taken out of a request body before it is parsed (see
 * body-data-urls.ts): the parsed body holds a placeholder where the data URL was, and the
 * request carries a table from each placeholder to the bytes it stands for. A door maps the
 * placeholder onto an `inline` attachment source, and the resolver takes the bytes from the
 * table instead of decoding text.
 *
 * A placeholder starts with a NUL character (no URL, data URL or base64 text does), then names
 * the data URL's header and the SHA-256 of its bytes: the same image under the same header is
 * the same placeholder in every request, two different images never are.
 */
import { ProxyError } from '../core/errors.js';

export interface InlineFile {
  bytes: Buffer;
  /** The media type the data URL declared (the bytes still decide). */
  mime?: string;
  sha256: string;
  /** The data URL's header between `data:` and `,` exactly as sent (it rebuilds the URL). */
  header: string;
}

/** Placeholder → the bytes it stands for, for one request. */
export type InlineData = ReadonlyMap<string, InlineFile>;

const PREFIX = '\u0000inline-data:';

/** The placeholder string for a data URL (what the parsed body holds). */
export function placeholderOf(header: string, sha256: string): string {
  return `${PREFIX}${header},sha256:${sha256}`;
}

/** The placeholder as JSON string content (NUL escaped: JSON strings take no raw control characters). */
export function placeholderJson(header: string, sha256: string): string {
  return `\\u0000inline-data:${header},sha256:${sha256}`;
}

export function isPlaceholder(value: string): boolean {
  return value.startsWith(PREFIX);
}

/** The bytes a placeholder stands for; a placeholder this request does not carry is refused. */
export function inlineFile(inline: InlineData | undefined, placeholder: string, param: string): InlineFile {
  const file = inline?.get(placeholder);
  // Only a client that typed a placeholder itself gets here: the reader makes none it does not keep.
  if (!file) throw new ProxyError('invalid_request', `${param}: the value is not a URL or data this proxy can read.`, { param });
  return file;
}

/** The data URL a placeholder stands for, rebuilt (the reader takes only canonical base64, so the text is the client's). */
export function dataUrlOf(file: InlineFile): string {
  return `data:${file.header},${file.bytes.toString('base64')}`;
}

/** `value` with every placeholder of `inline` put back as its data URL (for what is stored and shown back to the client). */
export function withDataUrls<T>(value: T, inline: InlineData | undefined): T {
  if (!inline || inline.size === 0) return value;
  const restore = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const file = isPlaceholder(v) ? inline.get(v) : undefined;
      return file ? dataUrlOf(file) : v;
    }
    if (Array.isArray(v)) return v.map(restore);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, restore(x)]));
    return v;
  };
  return restore(value) as T;
}
