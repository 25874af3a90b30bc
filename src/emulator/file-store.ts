/** Uploaded files of both protocols (spec A.10, B.9): just enough state for the upload/parse flows. */
import { createHash } from 'node:crypto';
import { kimiUuid, legacyId } from './ids.js';

export interface StoredFile {
  id: string;
  name: string;
  objectName: string;
  /** Legacy `type` (`image` | `file`). */
  type: string;
  contentType: string;
  bytes: Buffer;
  createTime: number;
  /** Status queries answered so far: the first reports work in progress, later ones success. */
  polls: number;
}

interface PreSigned {
  fileId: string;
  name: string;
  action: string;
  bytes?: Buffer;
  contentType?: string;
}

export class FileStore {
  private readonly preSigned = new Map<string, PreSigned>();
  private readonly files = new Map<string, StoredFile>();
  private readonly byObject = new Map<string, string>();

  preSign(action: string, name: string): { objectName: string; fileId: string } {
    const objectName = `emulator/${legacyId()}`;
    const fileId = legacyId();
    this.preSigned.set(objectName, { fileId, name, action });
    return { objectName, fileId };
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
  registerLegacy(body: { type: string; name: string; fileId: string; objectName: string }): StoredFile {
    const objectName = body.objectName || this.objectOfFileId(body.fileId);
    const existing = (objectName && this.byObject.get(objectName)) || (this.files.has(body.fileId) ? body.fileId : undefined);
    if (existing) {
      const file = this.files.get(existing)!;
      file.polls++;
      return file;
    }
    const p = objectName ? this.preSigned.get(objectName) : undefined;
    const file: StoredFile = {
      id: body.fileId || p?.fileId || legacyId(),
      name: body.name || p?.name || 'file',
      objectName: objectName || `emulator/${legacyId()}`,
      type: body.type || 'file',
      contentType: p?.contentType ?? 'application/octet-stream',
      bytes: p?.bytes ?? Buffer.alloc(0),
      createTime: Date.now(),
      polls: 0,
    };
    this.files.set(file.id, file);
    this.byObject.set(file.objectName, file.id);
    return file;
  }

  private objectOfFileId(fileId: string): string {
    if (!fileId) return '';
    for (const [name, p] of this.preSigned) if (p.fileId === fileId) return name;
    return '';
  }

  /** Connect `/apiv2-files/file/upload`. */
  upload(name: string, contentType: string, bytes: Buffer): StoredFile {
    const file: StoredFile = {
      id: kimiUuid(),
      name,
      objectName: '',
      type: contentType.startsWith('image/') ? 'image' : 'file',
      contentType,
      bytes,
      createTime: Date.now(),
      polls: 0,
    };
    this.files.set(file.id, file);
    return file;
  }

  get(id: string): StoredFile | undefined {
    return this.files.get(id);
  }

  /** One status query: false on the first, true afterwards. */
  poll(file: StoredFile): boolean {
    return file.polls++ > 0;
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
