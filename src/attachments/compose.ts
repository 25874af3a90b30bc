/** The attachment parts of an app, built once from the config: resolver, URL fetcher, uploads with their cache. */
import type { Config } from '../config/config.js';
import type { Clock } from '../core/clock.js';
import type { Store } from '../store/store.js';
import { FileUploads } from '../upstream/kimi/files/uploads.js';
import { ProxyError } from '../core/errors.js';
import { ClientFiles } from './client-files.js';
import { KeptFiles } from './kept-files.js';
import { AttachmentResolver } from './resolve.js';
import { StoreUploadCache } from './upload-cache.js';
import { UrlFetcher } from './url-fetch.js';

export interface AttachmentParts {
  resolver: AttachmentResolver;
  uploads: FileUploads;
  /** `/v1/files`: what `file_id` parts name. */
  clientFiles: ClientFiles;
  /** Conversations' attachment bytes, for a migration to another account. */
  keptFiles: KeptFiles;
  close(): Promise<void>;
}

export function composeAttachments(config: Pick<Config, 'attachments'>, deps: { store: Store; clock: Clock }): AttachmentParts {
  const att = config.attachments;
  const clientFiles = new ClientFiles(deps.store, deps.clock, att.filesTtlMs);
  const readFile = async (owner: string, id: string, param: string) => {
    const found = await clientFiles.content(owner, id);
    if (!found) throw new ProxyError('invalid_request', `${param}: no file "${id.slice(0, 80)}" was uploaded with this API key (or it expired).`, { param });
    return { bytes: found.bytes, mime: found.meta.mime, name: found.meta.filename };
  };
  const fetcher = new UrlFetcher({
    allow: att.urlAllow,
    connectTimeoutMs: Math.min(10_000, att.fetchTimeoutMs),
    totalTimeoutMs: att.fetchTimeoutMs,
    maxRedirects: 3,
  });
  const resolver = new AttachmentResolver(
    { imageMaxBytes: att.imageMaxBytes, documentMaxBytes: att.documentMaxBytes, perMessage: att.perMessage, requestMaxBytes: att.requestMaxBytes },
    { fetchUrl: (url, opts) => fetcher.fetch(url, opts), readFile },
  );
  const uploads = new FileUploads({
    clock: deps.clock,
    cache: new StoreUploadCache(deps.store, deps.clock, att.cacheTtlMs),
    policy: { imageParseMs: att.imageParseMs, documentParseMs: att.documentParseMs, perAccountConcurrency: att.uploadsPerAccount },
  });
  const keptFiles = new KeptFiles(deps.store, deps.clock, att.filesTtlMs);
  return { resolver, uploads, clientFiles, keptFiles, close: () => fetcher.close() };
}
