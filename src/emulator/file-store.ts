/**
 * Uploaded files of both protocols (spec A.10, B.9): just enough state for the upload/parse
 * flows. Every file belongs to the account that uploaded it: another account asking for its
 * id is answered as if it did not exist (the proxy's upload cache must be per account).
 *
 * Test hooks ride in the file name, since a test controls nothing else on the upload path:
 * `emu-fail` ends the parse FAILED, `emu-stall` never finishes parsing, `emu-slow` needs
 * three more status queries, `emu-500` answers the first upload of that name with HTTP 500.
 */
import { createHash } from 'node:crypto';
import { kimiUuid, legacyId } from './ids.js';

export type ParseBehaviour = 'ok' | 'fail' | 'stall' | 'slow';

export interface StoredFile {
  id: string;
  /** The account key of the uploader. */
  owner: string;
  name: string;
  objectName: string;
  /** Legacy `type` (`image` | `file`). */
  type: string;
  contentType: string;
  bytes: Buffer;
  sha256: string;
  createTime: number;
  /** Status queries answered so far. */
  polls: number;
  behaviour: ParseBehaviour;
}

export type ParseState = 'processing' | 'success' | 'failed';

interface PreSigned {
  fileId: string;
  owner: string;
  name: string;
  action: string;
  bytes?: Buffer;
  contentType?: string;
}

export function behaviourOf(name: string): ParseBehaviour {
  if (name.includes('emu-fail')) return 'fail';
  if (name.includes('emu-stall')) return 'stall';
  if (name.includes('emu-slow')) return 'slow';
  return 'ok';
}

export class FileStore {
  private readonly preSigned = new Map<string, PreSigned>();
  private readonly files = new Map<string, StoredFile>();
  private readonly byObject = new Map<string, string>();
  /** Names whose `emu-500` failure was already served. */
  private readonly failedOnce = new Set<string>();
  preSign(action: string, name: string, owner: string): { objectName: string; fileId: string } {
    const objectName = `emulator/${legacyId()}`;
    const fileId = legacyId();
    this.preSigned.set(objectName, { fileId, owner, name, action });
    return { objectName, fileId };
  }

  /** True once per name carrying `emu-500`: that upload is answered with HTTP 500. */
  failsOnce(name: string): boolean {
    if (!name.includes('emu-500') || this.failedOnce.has(name)) return false;
    this.failedOnce.add(name);
    return true;
  }

  /** The PUT target of a pre-signed URL; false when the object name was never issued. */
  putObject(objectName: string, bytes: Buffer, contentType: string): boolean {
    const p = this.preSigned.get(objectName);
    if (!p) return false;
    p.bytes = bytes;
    p.contentType = contentType;
    return true;
  }

  /** Legacy `POST /api/file`: registers the upload on the first call; later calls are status polls. */
  registerLegacy(body: { type: string; name: string; fileId: string; objectName: string }, owner: string): StoredFile | undefined {
    const objectName = body.objectName || this.objectOfFileId(body.fileId);
    const existingId = (objectName && this.byObject.get(objectName)) || (this.files.has(body.fileId) ? body.fileId : undefined);
    if (existingId) {
      const file = this.get(existingId, owner);
      if (file) file.polls++;
      return file;
    }
    const p = objectName ? this.preSigned.get(objectName) : undefined;
    if (p && p.owner !== owner) return undefined;
    const bytes = p?.bytes ?? Buffer.alloc(0);
    const name = body.name || p?.name || 'file';
    const file = this.keep({
      id: body.fileId || p?.fileId || legacyId(),
      owner,
      name,
      objectName: objectName || `emulator/${legacyId()}`,
      type: body.type || 'file',
      contentType: p?.contentType ?? 'application/octet-stream',
      bytes,
    });
    this.byObject.set(file.objectName, file.id);
    return file;
  }

  private objectOfFileId(fileId: string): string {
    if (!fileId) return '';
    for (const [name, p] of this.preSigned) if (p.fileId === fileId) return name;
    return '';
  }

  /** Connect `/apiv2-files/file/upload`. */
  upload(name: string, contentType: string, bytes: Buffer, owner: string): StoredFile {
    return this.keep({ id: kimiUuid(), owner, name, objectName: '', type: contentType.startsWith('image/') ? 'image' : 'file', contentType, bytes });
  }

  /** Stores a new file; its digest and its scripted parse behaviour follow from its bytes and name. */
  private keep(fields: Pick<StoredFile, 'id' | 'owner' | 'name' | 'objectName' | 'type' | 'contentType' | 'bytes'>): StoredFile {
    const file: StoredFile = { ...fields, sha256: sha256Hex(fields.bytes), createTime: Date.now(), polls: 0, behaviour: behaviourOf(fields.name) };
    this.files.set(file.id, file);
    return file;
  }

  /** The file, only for its owner (when `owner` is given; signed URLs carry no caller). */
  get(id: string, owner?: string): StoredFile | undefined {
    const file = this.files.get(id);
    return file && (owner === undefined || file.owner === owner) ? file : undefined;
  }

  /** One status query: work in progress on the first (and while slow or stalled), then the outcome. */
  poll(file: StoredFile): ParseState {
    const n = file.polls++;
    if (file.behaviour === 'stall') return 'processing';
    if (n < (file.behaviour === 'slow' ? 3 : 1)) return 'processing';
    return file.behaviour === 'fail' ? 'failed' : 'success';
  }

}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The first file part of a multipart/form-data body (enough for one-file uploads). */
export function firstMultipartFile(body: Buffer, contentType: string): { name: string; contentType: string; bytes: Buffer } | undefined {
  const m = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!m) return undefined;
  const delimiter = Buffer.from(`--${m[1]}`);
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const headStart = at + delimiter.length + 2;
    const headEnd = body.indexOf('\r\n\r\n', headStart);
    if (headEnd < 0) return undefined;
    const next = body.indexOf(delimiter, headEnd);
    if (next < 0) return undefined;
    const head = body.subarray(headStart, headEnd).toString('utf8');
    const filename = /filename="([^"]*)"/i.exec(head);
    if (filename) {
      const type = /content-type:\s*([^\r\n]+)/i.exec(head)?.[1]?.trim() ?? 'application/octet-stream';
      return { name: filename[1]!, contentType: type, bytes: body.subarray(headEnd + 4, next - 2) };
    }
    at = next;
  }
  return undefined;
}
