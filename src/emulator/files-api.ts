/** File endpoints of both protocols (spec A.10, B.9), kept minimal but shaped like the captures. */
import type { ServerResponse } from 'node:http';
import { firstMultipartFile, sha256Hex, type StoredFile } from './file-store.js';
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
export function preSignUrl(state: EmulatorState, res: ServerResponse, body: Record<string, unknown>): void {
  const { objectName, fileId } = state.files.preSign(String(body.action ?? 'file'), String(body.name ?? 'file'));
  sendJson(res, 200, { url: `${state.url}${OBJECT_PREFIX}${objectName}`, object_name: objectName, file_id: fileId });
}

/** `PUT <pre-signed url>` with the raw bytes. */
export function putObject(state: EmulatorState, res: ServerResponse, objectName: string, bytes: Buffer, contentType: string): void {
  if (!state.files.putObject(objectName, bytes, contentType)) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { etag: `"${sha256Hex(bytes).slice(0, 32)}"` }).end();
}

/** `POST /api/file`: `initialized` on registration, `parsed` on every later poll. */
export function registerFile(state: EmulatorState, res: ServerResponse, body: Record<string, unknown>): void {
  const file = state.files.registerLegacy({
    type: String(body.type ?? 'file'),
    name: String(body.name ?? ''),
    fileId: String(body.file_id ?? ''),
    objectName: String(body.object_name ?? ''),
  });
  sendJson(res, 200, legacyDetail(file, file.polls === 0 ? 'initialized' : 'parsed'));
}

/** `POST /api/file/parse_process` `{ids}`: one SSE `resp` record per file. */
export function parseProcess(state: EmulatorState, res: ServerResponse, body: Record<string, unknown>): void {
  const ids = Array.isArray(body.ids) ? body.ids.filter((x): x is string => typeof x === 'string') : [];
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  for (const id of ids) {
    const file = state.files.get(id);
    const info = file ? legacyDetail(file, 'parsed') : { id, status: 'failed' };
    res.write(`data: ${JSON.stringify({ event: 'resp', file_info: info })}\n\n`);
  }
  res.end();
}

/** `POST /apiv2-files/file/upload` (multipart) → `{file:{id, meta, blob, parseResult}}`. */
export function connectUpload(state: EmulatorState, res: ServerResponse, body: Buffer, contentType: string): void {
  const part = firstMultipartFile(body, contentType);
  if (!part) {
    sendConnectError(res, 400, 'invalid_argument', 'expected a multipart/form-data body with a file');
    return;
  }
  const file = state.files.upload(part.name, part.contentType, part.bytes);
  const ext = part.name.includes('.') ? part.name.split('.').pop()! : '';
  sendJson(res, 200, {
    file: {
      id: file.id,
      meta: {
        name: file.name,
        contentType: file.contentType,
        sizeBytes: String(file.bytes.byteLength),
        checksum: sha256Hex(file.bytes),
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

/** `FileService/GetFileParseProgress`: PROCESSING on the first query of a file, SUCCESS afterwards. */
export function parseProgress(state: EmulatorState, res: ServerResponse, body: Record<string, unknown>): void {
  const raw = body.file_ids ?? body.fileIds;
  const ids = Array.isArray(raw) ? raw.filter((x): x is string => typeof x === 'string') : [];
  const files = ids.map((id) => state.files.get(id));
  const missing = ids.find((_, i) => !files[i]);
  if (missing !== undefined) {
    sendConnectError(res, 404, 'not_found', `file ${missing} does not exist`);
    return;
  }
  sendJson(res, 200, {
    progresses: files.map((f) => ({ fileId: f!.id, status: state.files.poll(f!) ? 'PROCESS_STATUS_SUCCESS' : 'PROCESS_STATUS_PROCESSING' })),
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
