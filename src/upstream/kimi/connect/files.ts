/**
 * Connect file upload (spec B.9): multipart `POST /apiv2-files/file/upload`, then
 * `GetFileParseProgress` until `PROCESS_STATUS_SUCCESS`; the chat message then carries a
 * `{file:{id, status}}` block beside its text block.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { ProxyError } from '../../../core/errors.js';
import type { ParseWait } from '../files/uploads.js';
import type { KimiHttp } from '../http.js';
import type { KimiFileRef, UpstreamCallContext, UpstreamFile } from '../types.js';
import { obj, str } from '../wire-json.js';

const UPLOAD_PATH = '/apiv2-files/file/upload';
const PROGRESS_PATH = '/apiv2-files/kimi.gateway.file.v1.FileService/GetFileParseProgress';
export const FILE_READY = 'PROCESS_STATUS_SUCCESS';
const FILE_FAILED = 'PROCESS_STATUS_FAILED';

/** A file name inside a quoted multipart header, escaped as browsers' FormData does. */
const quotedName = (name: string): string => name.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

/**
 * The one-file multipart/form-data body as three pieces: the part's head, the file's own
 * bytes (the same memory, not a copy) and the closing boundary. The platform's FormData would
 * copy the bytes into a Blob and again into the serialised body: three copies of a large image
 * held at once during its upload instead of one.
 */
export function multipartPieces(file: Pick<UpstreamFile, 'name' | 'mime' | 'bytes'>, boundary = `----kimi-proxy-${randomUUID()}`): { pieces: Uint8Array[]; contentType: string; length: number } {
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quotedName(file.name)}"\r\nContent-Type: ${file.mime}\r\n\r\n`, 'utf8');
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
  return { pieces: [head, file.bytes, tail], contentType: `multipart/form-data; boundary=${boundary}`, length: head.byteLength + file.bytes.byteLength + tail.byteLength };
}

export async function uploadConnectFile(http: KimiHttp, file: UpstreamFile, wait: ParseWait, ctx: UpstreamCallContext): Promise<KimiFileRef> {
  const { pieces, contentType, length } = multipartPieces(file);
  // A stream of the pieces, with its length declared: sent as they are, without joining them.
  const body = Readable.from(pieces);
  const res = await http.json({ method: 'POST', path: UPLOAD_PATH, body, contentType, extraHeaders: { 'content-length': String(length) }, protocol: 'connect' }, ctx);
  const id = str(obj(obj(res)?.file)?.id);
  if (!id) throw new ProxyError('upstream_protocol_error', `Kimi accepted the upload of "${file.name}" but returned no file id.`);
  await wait.until(async () => {
    const progress = await http.json({ method: 'POST', path: PROGRESS_PATH, body: JSON.stringify({ file_ids: [id] }), protocol: 'connect' }, ctx);
    const list = obj(progress)?.progresses;
    const entry = Array.isArray(list) ? list.map(obj).find((p) => p && (p.fileId === id || p.file_id === id)) : undefined;
    const status = str(entry?.status);
    if (status === FILE_READY) return { state: 'done' };
    if (status === FILE_FAILED) return { state: 'failed', reason: `Kimi's parse ended ${FILE_FAILED}` };
    // Only PROCESSING, SUCCESS and FAILED are known; anything else (or a missing entry) is read as "not yet".
    return { state: 'pending' };
  });
  return { id, name: file.name, size: file.bytes.byteLength, kind: file.kind };
}

/** The message blocks: the text block, then one file block per attachment (spec B.4, B.9 step 3). */
export function fileBlocks(refs: readonly KimiFileRef[]): Array<Record<string, unknown>> {
  return refs.map((r) => ({ file: { id: r.id, status: FILE_READY } }));
}
