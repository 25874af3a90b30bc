/**
 * Files a client uploaded through `/v1/files` (the OpenAI files flow), so that `file_id`
 * parts work. Kept in the store's expiring owner-scoped records (memory, SQLite, or Redis
 * shared by every instance), scoped to the API key that uploaded them: another key sees
 * "not found". Each file is three records: its bytes, its description, and the key's list.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { ProxyError } from '../core/errors.js';
import type { Store } from '../store/store.js';

export interface ClientFile {
  id: string;
  filename: string;
  bytes: number;
  mime: string;
  purpose: string;
  createdAt: number;
  expiresAt: number;
}

const NS = { data: 'client-file:', meta: 'client-file-meta:', index: 'client-file-index:' };
const INDEX_ID = 'index';
const LOCK_TTL_MS = 5_000;

export class ClientFiles {
  constructor(
    private readonly store: Pick<Store, 'saveResponse' | 'getResponse' | 'deleteResponse' | 'tryLock' | 'releaseLock'>,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  async put(owner: string, file: { filename: string; mime: string; purpose: string; bytes: Buffer }): Promise<ClientFile> {
    const now = this.clock.now();
    const meta: ClientFile = {
      id: `file-${randomBytes(12).toString('hex')}`,
      filename: file.filename,
      bytes: file.bytes.byteLength,
      mime: file.mime,
      purpose: file.purpose,
      createdAt: now,
      expiresAt: now + this.ttlMs,
    };
    const record = (ns: string, body: string) => ({ id: meta.id, owner: ns + owner, body, createdAt: now, expiresAt: meta.expiresAt });
    await this.store.saveResponse(record(NS.data, file.bytes.toString('base64')));
    await this.store.saveResponse(record(NS.meta, JSON.stringify(meta)));
    await this.updateIndex(owner, (ids) => [meta.id, ...ids]);
    return meta;
  }

  async get(owner: string, id: string): Promise<ClientFile | undefined> {
    const record = await this.store.getResponse(NS.meta + owner, id);
    return record ? (JSON.parse(record.body) as ClientFile) : undefined;
  }

  async content(owner: string, id: string): Promise<{ meta: ClientFile; bytes: Buffer } | undefined> {
    const meta = await this.get(owner, id);
    const data = meta && (await this.store.getResponse(NS.data + owner, id));
    return meta && data ? { meta, bytes: Buffer.from(data.body, 'base64') } : undefined;
  }

  /** Newest first; expired files drop out of the list as it is read. */
  async list(owner: string): Promise<ClientFile[]> {
    const ids = await this.readIndex(owner);
    const metas = await Promise.all(ids.map((id) => this.get(owner, id)));
    return metas.filter((m): m is ClientFile => m !== undefined);
  }

  async delete(owner: string, id: string): Promise<boolean> {
    const existed = await this.store.deleteResponse(NS.meta + owner, id);
    await this.store.deleteResponse(NS.data + owner, id);
    if (existed) await this.updateIndex(owner, (ids) => ids.filter((x) => x !== id));
    return existed;
  }

  private async readIndex(owner: string): Promise<string[]> {
    const record = await this.store.getResponse(NS.index + owner, INDEX_ID);
    return record ? (JSON.parse(record.body) as string[]) : [];
  }

  /** The key's list changes under a store lock, so two uploads at once (on any instance) both stay listed. */
  private async updateIndex(owner: string, change: (ids: string[]) => string[]): Promise<void> {
    const lockKey = `files-index:${owner}`;
    let token: string | undefined;
    for (let i = 0; i < 100 && token === undefined; i++) {
      token = await this.store.tryLock(lockKey, LOCK_TTL_MS);
      if (token === undefined) await this.clock.sleep(20);
    }
    if (token === undefined) throw new ProxyError('store_unavailable', 'The file list is busy; retry the request.', { retryAfterMs: 1_000 });
    try {
      const live = new Set<string>();
      for (const id of await this.readIndex(owner)) if (await this.get(owner, id)) live.add(id);
      const ids = change([...live]);
      const now = this.clock.now();
      // The list lives as long as the newest file in it.
      await this.store.saveResponse({ id: INDEX_ID, owner: NS.index + owner, body: JSON.stringify(ids), createdAt: now, expiresAt: now + this.ttlMs });
    } finally {
      await this.store.releaseLock(lockKey, token);
    }
  }
}
