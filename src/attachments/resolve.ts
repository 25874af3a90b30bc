/**
 * Turns every attachment of a request into checked bytes before the turn starts: base64 and
 * data URLs decoded after their size is checked, URLs fetched through the guarded fetcher,
 * `/v1/files` ids read for their owner only; then typed from the bytes and capped per kind,
 * per message and per request. Every refusal names the part.
 */
import { createHash } from 'node:crypto';
import { ProxyError } from '../core/errors.js';
import type { Attachment } from './attachment.js';
import { nameWithExt, sniffType } from './content-type.js';
import { checkAttachmentSize, decodeBase64, decodeDataUrl } from './data-url.js';
import { inlineFile, type InlineData } from './inline-data.js';

export interface AttachmentLimits {
  imageMaxBytes: number;
  documentMaxBytes: number;
  /** Attachments in one message. */
  perMessage: number;
  /** All attachments of one request together. */
  requestMaxBytes: number;
}

export const DEFAULT_ATTACHMENT_LIMITS: AttachmentLimits = {
  imageMaxBytes: 20 * 1024 * 1024,
  documentMaxBytes: 100 * 1024 * 1024,
  perMessage: 20,
  requestMaxBytes: 200 * 1024 * 1024,
};

export interface FetchedBytes {
  bytes: Buffer;
  mime?: string;
  name?: string;
  /** The bytes' SHA-256, when it is known already. */
  sha256?: string;
}

/** Where bytes that are not in the request come from. */
export interface AttachmentSources {
  /** A URL, fetched safely (url-fetch.ts); absent = URLs are refused. */
  fetchUrl?(url: string, opts: { maxBytes: number; param: string; signal: AbortSignal }): Promise<FetchedBytes>;
  /** A `/v1/files` id of this owner; absent = file ids are refused. */
  readFile?(owner: string, id: string, param: string): Promise<FetchedBytes>;
}

export interface ResolveScope {
  owner: string;
  signal: AbortSignal;
  /** The data URLs the body reader took out of this request's body (`inline` sources). */
  inline?: InlineData;
}

export class AttachmentResolver {
  constructor(
    private readonly limits: AttachmentLimits,
    private readonly sources: AttachmentSources = {},
  ) {}

  /** Resolves every attachment of `messages` in place (sets `file`). */
  async resolve(messages: ReadonlyArray<{ attachments?: Attachment[] }>, scope: ResolveScope): Promise<void> {
    let total = 0;
    for (const m of messages) {
      const list = m.attachments ?? [];
      if (list.length > this.limits.perMessage) {
        const param = list[this.limits.perMessage]!.param;
        throw new ProxyError('attachment_too_large', `${param}: a message may carry at most ${this.limits.perMessage} attachments.`, { param });
      }
      for (const a of list) {
        if (a.file) continue;
        await this.resolveOne(a, scope);
        total += a.file!.bytes.byteLength;
        if (total > this.limits.requestMaxBytes) {
          throw new ProxyError('attachment_too_large', `${a.param}: the request's attachments exceed ${this.limits.requestMaxBytes} bytes together.`, { param: a.param });
        }
      }
    }
  }

  private capFor(hint: Attachment['hint']): number {
    if (hint === 'image') return this.limits.imageMaxBytes;
    if (hint === 'document') return this.limits.documentMaxBytes;
    return Math.max(this.limits.imageMaxBytes, this.limits.documentMaxBytes);
  }

  private async load(a: Attachment, scope: ResolveScope): Promise<FetchedBytes> {
    const max = this.capFor(a.hint);
    const { source } = a;
    switch (source.type) {
      case 'base64':
        return { bytes: decodeBase64(source.data, max, a.param), ...(source.mime ? { mime: source.mime } : {}) };
      case 'data-url':
        return decodeDataUrl(source.url, max, a.param);
      case 'inline': {
        const { bytes, mime, sha256 } = inlineFile(scope.inline, source.placeholder, a.param);
        // The refusal a data URL of this size gets from decodeBase64.
        checkAttachmentSize(bytes.byteLength, max, a.param);
        return { bytes, sha256, ...(mime ? { mime } : {}) };
      }
      case 'text': {
        if (source.text.length > max) throw new ProxyError('attachment_too_large', `${a.param}: the document is over the limit of ${max} bytes.`, { param: a.param });
        return { bytes: Buffer.from(source.text, 'utf8'), ...(source.mime ? { mime: source.mime } : {}) };
      }
      case 'url':
        if (!this.sources.fetchUrl) throw new ProxyError('attachment_url_refused', `${a.param}: this proxy does not fetch attachment URLs; send the file as a data URL.`, { param: a.param });
        return this.sources.fetchUrl(source.url, { maxBytes: max, param: a.param, signal: scope.signal });
      case 'file-id':
        if (!this.sources.readFile) throw new ProxyError('invalid_request', `${a.param}: file ids are not served by this proxy.`, { param: a.param });
        return this.sources.readFile(scope.owner, source.id, a.param);
    }
  }

  private async resolveOne(a: Attachment, scope: ResolveScope): Promise<void> {
    const loaded = await this.load(a, scope);
    const name = loaded.name ?? a.name;
    const type = await sniffType(loaded.bytes, name, loaded.mime, a.param);
    if (a.hint === 'image' && type.kind !== 'image') {
      throw new ProxyError('unsupported_media_type', `${a.param}: an image part holds ${type.mime}, not an image.`, { param: a.param });
    }
    const cap = type.kind === 'image' ? this.limits.imageMaxBytes : this.limits.documentMaxBytes;
    if (loaded.bytes.byteLength > cap) {
      throw new ProxyError('attachment_too_large', `${a.param}: the ${type.kind} is ${loaded.bytes.byteLength} bytes; the limit is ${cap} bytes.`, { param: a.param });
    }
    a.file = {
      name: nameWithExt(name, type.ext),
      mime: type.mime,
      kind: type.kind,
      bytes: loaded.bytes,
      sha256: loaded.sha256 ?? createHash('sha256').update(loaded.bytes).digest('hex'),
    };
  }
}
