/**
 * Files a client uploaded through `/v1/files` (the OpenAI files flow), so that `file_id`
 * parts work. Kept in the store's expiring owner-scoped records (memory, SQLite, or Redis
 * shared by every instance), scoped to the API key that uploaded them: another key sees
 * "not found". A file is its bytes in pieces of at most `PIECE_BYTES`, its description, and
 * the key's list.
 *
 * An upload is stored while it streams in: the proxy holds one piece at a time, never the
 * whole file, counts the bytes against the cap as they arrive, and types the file from its
 * first piece before storing anything. An upload that fails on the way (over the cap, not a
 * type Kimi reads, the client gone) leaves nothing behind: its pieces are deleted and its
 * description, written last, never existed.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { ProxyError } from '../core/errors.js';
import type { Store } from '../store/store.js';
import { nameWithExt, sniffType, type SniffedType } from './content-type.js';

export interface ClientFile {
  id: string;
  filename: string;
  bytes: number;
  mime: string;
  purpose: string;
  createdAt: number;
  expiresAt: number;
  /** How many pieces hold the bytes (absent: one record, as files were kept before pieces). */
  pieces?: number;
}

/** The largest piece held in memory and stored as one record; also what the type is sniffed from. */
export const PIECE_BYTES = 1024 * 1024;

const NS = { data: 'client-file:', piece: 'client-file-piece:', meta: 'client-file-meta:', index: 'client-file-index:' };
const INDEX_ID = 'index';
const LOCK_TTL_MS = 5_000;

export interface IncomingFile {
  filename: string;
  /** The bytes as they arrive (a multipart part's stream). */
  chunks: AsyncIterable<Buffer>;
  maxBytes: number;
  /** Where a refusal points (`file`). */
  param: string;
}

/** An upload whose bytes are stored but which is not described or listed yet. */
export type StagedFile = Omit<ClientFile, 'purpose'> & { pieces: number };

const pieceId = (id: string, n: number): string => `${id}:${n}`;

type FileStore = Pick<Store, 'saveResponse' | 'getResponse' | 'deleteResponse' | 'tryLock' | 'releaseLock'>;

export class ClientFiles {
  constructor(
    private readonly store: FileStore,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  /**
   * Stores an upload's bytes as they stream in: 413 over `maxBytes`, 415 for a type Kimi does
   * not read; nothing stays stored when it fails. The file exists once `commit` describes it.
   */
  async stage(owner: string, file: IncomingFile): Promise<StagedFile> {
    const id = `file-${randomBytes(12).toString('hex')}`;
    const now = this.clock.now();
    const expiresAt = now + this.ttlMs;
    let pieces = 0;
    let total = 0;
    let held: Buffer[] = [];
    let heldBytes = 0;
    let type: SniffedType | undefined;
    const flush = async (): Promise<void> => {
      if (heldBytes === 0) return;
      const piece = held.length === 1 ? held[0]! : Buffer.concat(held, heldBytes);
      held = [];
      heldBytes = 0;
      // Typed from the first piece, before anything is stored.
      type ??= await sniffType(piece, file.filename, undefined, file.param);
      await this.store.saveResponse({ id: pieceId(id, pieces), owner: NS.piece + owner, body: piece.toString('base64'), createdAt: now, expiresAt });
      pieces++;
    };
    try {
      for await (const chunk of file.chunks) {
        total += chunk.byteLength;
        if (total > file.maxBytes) throw new ProxyError('attachment_too_large', `The file is over the limit of ${file.maxBytes} bytes.`, { param: file.param });
        let rest = chunk;
        while (heldBytes + rest.byteLength >= PIECE_BYTES) {
          const take = PIECE_BYTES - heldBytes;
          held.push(rest.subarray(0, take));
          heldBytes += take;
          rest = rest.subarray(take);
          await flush();
        }
        if (rest.byteLength > 0) {
          held.push(rest);
          heldBytes += rest.byteLength;
        }
      }
      await flush();
      if (!type) throw new ProxyError('invalid_request', `${file.param}: the file is empty.`, { param: file.param });
    } catch (err) {
      // A save may have been under way when the failure came: its piece goes too.
      await this.deletePieces(owner, id, pieces + 1);
      throw err;
    }
    return { id, filename: nameWithExt(file.filename, type.ext), mime: type.mime, bytes: total, pieces, createdAt: now, expiresAt };
  }

  /** Describes a staged file and lists it: from here on it is served. */
  async commit(owner: string, staged: StagedFile, purpose: string): Promise<ClientFile> {
    const meta: ClientFile = { ...staged, purpose };
    await this.store.saveResponse({ id: meta.id, owner: NS.meta + owner, body: JSON.stringify(meta), createdAt: meta.createdAt, expiresAt: meta.expiresAt });
    await this.updateIndex(owner, (ids) => [meta.id, ...ids]);
    return meta;
  }

  /** Drops a staged file that will not be committed. */
  async discard(owner: string, staged: StagedFile): Promise<void> {
    await this.deletePieces(owner, staged.id, staged.pieces);
  }

  async get(owner: string, id: string): Promise<ClientFile | undefined> {
    const record = await this.store.getResponse(NS.meta + owner, id);
    return record ? (JSON.parse(record.body) as ClientFile) : undefined;
  }

  /** The file and its bytes (read back piece by piece into the one buffer the upload to Kimi needs). */
  async content(owner: string, id: string): Promise<{ meta: ClientFile; bytes: Buffer } | undefined> {
    const meta = await this.get(owner, id);
    if (!meta) return undefined;
    if (meta.pieces === undefined) {
      const data = await this.store.getResponse(NS.data + owner, id);
      return data ? { meta, bytes: Buffer.from(data.body, 'base64') } : undefined;
    }
    const bytes = Buffer.allocUnsafe(meta.bytes);
    let at = 0;
    for (let n = 0; n < meta.pieces; n++) {
      const piece = await this.store.getResponse(NS.piece + owner, pieceId(id, n));
      if (!piece) return undefined;
      at += Buffer.from(piece.body, 'base64').copy(bytes, at);
    }
    return at === meta.bytes ? { meta, bytes } : undefined;
  }

  /** Newest first; expired files drop out of the list as it is read. */
  async list(owner: string): Promise<ClientFile[]> {
    const ids = await this.readIndex(owner);
    const metas = await Promise.all(ids.map((id) => this.get(owner, id)));
    return metas.filter((m): m is ClientFile => m !== undefined);
  }

  async delete(owner: string, id: string): Promise<boolean> {
    const meta = await this.get(owner, id);
    const existed = await this.store.deleteResponse(NS.meta + owner, id);
    await this.store.deleteResponse(NS.data + owner, id);
    if (meta?.pieces) await this.deletePieces(owner, id, meta.pieces);
    if (existed) await this.updateIndex(owner, (ids) => ids.filter((x) => x !== id));
    return existed;
  }

  private async deletePieces(owner: string, id: string, count: number): Promise<void> {
    for (let n = 0; n < count; n++) await this.store.deleteResponse(NS.piece + owner, pieceId(id, n)).catch(() => undefined);
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
