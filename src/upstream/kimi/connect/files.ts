/**
 * Connect file upload (spec B.9): multipart `POST /apiv2-files/file/upload`, then
 * `GetFileParseProgress` until `PROCESS_STATUS_SUCCESS`; the chat message then carries a
 * `{file:{id, status}}` block beside its text block.
 */
import { ProxyError } from '../../../core/errors.js';
import type { ParseWait } from '../files/uploads.js';
import type { KimiHttp } from '../http.js';
import type { KimiFileRef, UpstreamCallContext, UpstreamFile } from '../types.js';
import { obj, str } from '../wire-json.js';

const UPLOAD_PATH = '/apiv2-files/file/upload';
const PROGRESS_PATH = '/apiv2-files/kimi.gateway.file.v1.FileService/GetFileParseProgress';
export const FILE_READY = 'PROCESS_STATUS_SUCCESS';
const FILE_FAILED = 'PROCESS_STATUS_FAILED';

/** The multipart body, serialised by the platform's FormData (no hand-written boundaries). */
async function multipart(file: UpstreamFile): Promise<{ body: Uint8Array; contentType: string }> {
  const form = new FormData();
  form.append('file', new Blob([file.bytes], { type: file.mime }), file.name);
  const encoded = new Response(form);
  return { body: new Uint8Array(await encoded.arrayBuffer()), contentType: encoded.headers.get('content-type')! };
}

export async function uploadConnectFile(http: KimiHttp, file: UpstreamFile, wait: ParseWait, ctx: UpstreamCallContext): Promise<KimiFileRef> {
  const { body, contentType } = await multipart(file);
  const res = await http.json({ method: 'POST', path: UPLOAD_PATH, body, contentType, protocol: 'connect' }, ctx);
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
