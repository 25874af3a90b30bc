/** File endpoints of both protocols (spec A.10, B.9), kept minimal but shaped like the captures. */
import type { ServerResponse } from 'node:http';
import { firstMultipartFile, type StoredFile } from './file-store.js';
import { sendConnectError, sendJson, sendRestError } from './http-io.js';
import { rfc3339 } from './ids.js';
import type { EmulatorState } from './state.js';

/** Where pre-signed legacy uploads are PUT (stands in for the object-storage bucket). */
export const OBJECT_PREFIX = '/tos/';
export const SIGN_OBJ_PREFIX = '/apiv2-files/sign-obj/';

function legacyDetail(file: StoredFile, status: string): Record<string, unknown> {
  return { id: file.id, name: file.name, size: file.bytes.byteLength, status, object_name: file.objectName, type: file.type, meta: {} };
}

/** `POST /api/pre-sign-url` `{action, name}` → `{url, object_name, file_id}`. */
export function preSignUrl(state: EmulatorState, res: ServerResponse, body: Record<string, unknown>, owner: string): void {
  const name = String(body.name ?? 'file');
  // The spec shows no error for this call; the emulator's failure is a plain 500.
  if (state.files.failsOnce(name)) return sendRestError(res, 500, 'internal.error', 'emulated upload failure');
  const { objectName, fileId } = state.files.preSign(String(body.action ?? 'file'), name, owner);
  sendJson(res, 200, { url: `${state.url}${OBJECT_PREFIX}${objectName}`, object_name: objectName, file_id: fileId });
}

/** `PUT <pre-signed url>` with the raw bytes. */
export function putObject(state: EmulatorState, res: ServerResponse, objectName: string, bytes: Buffer, contentType: string): void {
  if (!state.files.putObject(objectName, bytes, contentType)) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { etag: `"${objectName.slice(-16)}"` }).end();
}

/**
 * `POST /api/file`: `initialized` on registration, `parsed` on every later poll. A failed
 * parse shows as `failed`, a stalled one stays `initialized` (the spec names only these words).
 */
export function registerFile(state: EmulatorState, res: ServerResponse, body: Record<string, unknown>, owner: string): void {
  const file = state.files.registerLegacy(
    { type: String(body.type ?? 'file'), name: String(body.name ?? ''), fileId: String(body.file_id ?? ''), objectName: String(body.object_name ?? '') },
    owner,
  );
  // The spec shows no "not found" answer for files; this error_type is the emulator's choice.
  if (!file) return sendRestError(res, 404, 'file.not_found', 'file does not exist');
  if (file.polls === 0) {
    state.stats.fileUploaded();
    return sendJson(res, 200, legacyDetail(file, 'initialized'));
  }
  const status = file.type === 'image' ? state.files.poll(file) : 'success';
  sendJson(res, 200, legacyDetail(file, status === 'success' ? 'parsed' : status === 'failed' ? 'failed' : 'initialized'));
}

/**
 * `POST /api/file/parse_process` `{ids, timeout}`: SSE `resp` records until every file is
 * `parsed` or `failed`; a stalled file keeps the stream open until the client leaves.
 */
export async function parseProcess(state: EmulatorState, res: ServerResponse, body: Record<string, unknown>, owner: string): Promise<void> {
  const ids = Array.isArray(body.ids) ? body.ids.filter((x): x is string => typeof x === 'string') : [];
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  let open = ids.map((id) => ({ id, file: state.files.get(id, owner) }));
  const gone = new Promise<void>((resolve) => res.once('close', resolve));
  while (open.length > 0 && !res.destroyed) {
    const next: typeof open = [];
    for (const entry of open) {
      const state_ = entry.file ? state.files.poll(entry.file) : 'failed';
      if (state_ === 'processing') {
        next.push(entry);
        continue;
      }
      const info = entry.file ? legacyDetail(entry.file, state_ === 'success' ? 'parsed' : 'failed') : { id: entry.id, status: 'failed' };
      res.write(`data: ${JSON.stringify({ event: 'resp', file_info: info })}\n\n`);
    }
    open = next;
    if (open.length > 0) await Promise.race([gone, new Promise((r) => setTimeout(r, 20))]);
  }
  res.end();
}

/** `POST /apiv2-files/file/upload` (multipart) → `{file:{id, meta, blob, parseResult}}`. */
export function connectUpload(state: EmulatorState, res: ServerResponse, body: Buffer, contentType: string, owner: string): void {
  const part = firstMultipartFile(body, contentType);
  if (!part) {
    sendConnectError(res, 400, 'invalid_argument', 'expected a multipart/form-data body with a file');
    return;
  }
  if (state.files.failsOnce(part.name)) return sendConnectError(res, 500, 'internal', 'emulated upload failure');
  const file = state.files.upload(part.name, part.contentType, part.bytes, owner);
  state.stats.fileUploaded();
  const ext = part.name.includes('.') ? part.name.split('.').pop()! : '';
  sendJson(res, 200, {
    file: {
      id: file.id,
      meta: {
        name: file.name,
        contentType: file.contentType,
        sizeBytes: String(file.bytes.byteLength),
        checksum: file.sha256,
        ext,
        createTime: rfc3339(file.createTime),
        // FILE_TYPE_IMAGE is captured; the name for other files is this emulator's guess.
        type: file.type === 'image' ? 'FILE_TYPE_IMAGE' : 'FILE_TYPE_FILE',
      },
      blob: { signUrl: `${state.url}${SIGN_OBJ_PREFIX}${file.id}?filename=${encodeURIComponent(file.name)}&sig=emulator&t=o`, previewUrl: '' },
      parseResult: {},
    },
  });
}

const CONNECT_STATUS = { processing: 'PROCESS_STATUS_PROCESSING', success: 'PROCESS_STATUS_SUCCESS', failed: 'PROCESS_STATUS_FAILED' } as const;

/** `FileService/GetFileParseProgress`: PROCESSING on the first query of a file, then SUCCESS (or FAILED). */
export function parseProgress(state: EmulatorState, res: ServerResponse, body: Record<string, unknown>, owner: string): void {
  const raw = body.file_ids ?? body.fileIds;
  const ids = Array.isArray(raw) ? raw.filter((x): x is string => typeof x === 'string') : [];
  const files = ids.map((id) => state.files.get(id, owner));
  const missing = ids.find((_, i) => !files[i]);
  if (missing !== undefined) {
    sendConnectError(res, 404, 'not_found', `file ${missing} does not exist`);
    return;
  }
  sendJson(res, 200, {
    progresses: files.map((f) => ({ fileId: f!.id, status: CONNECT_STATUS[state.files.poll(f!)] })),
  });
}

/** Signed object URLs are fetched without auth (spec B.9). */
export function signedObject(state: EmulatorState, res: ServerResponse, id: string): void {
  const file = state.files.get(id);
  if (!file) {
    sendRestError(res, 404, 'internal.error', 'object not found');
    return;
  }
  res.writeHead(200, { 'content-type': file.contentType, 'content-length': String(file.bytes.byteLength) });
  res.end(file.bytes);
}
