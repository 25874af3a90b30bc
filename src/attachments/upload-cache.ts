/**
 * The upload cache `(account, sha256) → Kimi file` over the store's expiring owner-scoped
 * records (the same records that keep Responses API responses, in their own owner namespace),
 * so every instance sharing the store (Redis included) reuses an upload, for a TTL.
 */
import type { Clock } from '../core/clock.js';
import type { Store } from '../store/store.js';
import type { UploadCache } from '../upstream/kimi/files/uploads.js';
import type { KimiFileRef } from '../upstream/kimi/types.js';

/** API key ids never contain ':', so this namespace cannot meet a key's responses. */
const ownerOf = (accountId: string): string => `kimi-file:${accountId}`;

export class StoreUploadCache implements UploadCache {
  constructor(
    private readonly store: Pick<Store, 'getResponse' | 'saveResponse'>,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  async get(accountId: string, sha256: string): Promise<KimiFileRef | undefined> {
    const record = await this.store.getResponse(ownerOf(accountId), sha256);
    if (!record) return undefined;
    try {
      const ref = JSON.parse(record.body) as Partial<KimiFileRef>;
      if (typeof ref.id !== 'string' || typeof ref.name !== 'string' || typeof ref.size !== 'number' || (ref.kind !== 'image' && ref.kind !== 'document')) return undefined;
      return { id: ref.id, name: ref.name, size: ref.size, kind: ref.kind };
    } catch {
      return undefined;
    }
  }

  async set(accountId: string, sha256: string, ref: KimiFileRef): Promise<void> {
    const now = this.clock.now();
    await this.store.saveResponse({ id: sha256, owner: ownerOf(accountId), body: JSON.stringify(ref), createdAt: now, expiresAt: now + this.ttlMs });
  }
}
