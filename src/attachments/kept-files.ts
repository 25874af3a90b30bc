/**
 * The bytes of a conversation's attachments, kept so that a conversation moved to another
 * account (whose Kimi has no upload of them) can re-attach its earlier turns' files. Kept per
 * API key and content hash in the store's expiring records: never shared across keys, one
 * copy however often a key sends the same file.
 */
import type { Clock } from '../core/clock.js';
import type { Store, StoredAttachment } from '../store/store.js';
import type { KeptFile, UpstreamFile } from '../upstream/kimi/types.js';

const DATA = 'kept-file:';
const SEEN = 'kept-file-seen:';

export class KeptFiles {
  constructor(
    private readonly store: Pick<Store, 'saveResponse' | 'getResponse'>,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  /** Keeps the bytes of `files` for `owner` (each distinct file once; a known one only has its time renewed). */
  async keep(owner: string, files: readonly UpstreamFile[]): Promise<void> {
    const now = this.clock.now();
    const expiresAt = now + this.ttlMs;
    const seen = new Set<string>();
    for (const f of files) {
      if (seen.has(f.sha256)) continue;
      seen.add(f.sha256);
      // A small marker says the bytes are there already, without reading them back.
      const known = await this.store.getResponse(SEEN + owner, f.sha256);
      if (!known || known.expiresAt - now < this.ttlMs / 2) {
        await this.store.saveResponse({ id: f.sha256, owner: DATA + owner, body: f.bytes.toString('base64'), createdAt: now, expiresAt });
        await this.store.saveResponse({ id: f.sha256, owner: SEEN + owner, body: '1', createdAt: now, expiresAt });
      }
    }
  }

  /** An earlier turn's attachment as a file whose bytes are read only if an upload needs them. */
  kept(owner: string, a: StoredAttachment): KeptFile {
    return {
      name: a.name,
      mime: a.mime,
      kind: a.kind,
      sha256: a.sha256,
      load: async () => {
        const record = await this.store.getResponse(DATA + owner, a.sha256);
        return record ? Buffer.from(record.body, 'base64') : undefined;
      },
    };
  }
}

/** What a transcript remembers of a message's attachments (never the bytes). */
export function storedAttachments(files: readonly UpstreamFile[]): StoredAttachment[] {
  return files.map((f) => ({ name: f.name, mime: f.mime, kind: f.kind, sha256: f.sha256, size: f.bytes.byteLength }));
}
