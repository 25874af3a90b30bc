/**
 * Legacy file upload (spec A.10): pre-sign → `PUT` the bytes → `POST /api/file` → (documents)
 * `parse_process` → the completion's `refs` and `refs_file`.
 */
import { createParser } from 'eventsource-parser';
import { ProxyError } from '../../../core/errors.js';
import type { ParseCheck, ParseWait } from '../files/uploads.js';
import { attachmentFailed } from '../files/uploads.js';
import type { KimiHttp } from '../http.js';
import type { KimiFileRef, UpstreamCallContext, UpstreamFile } from '../types.js';
import { obj, str } from '../wire-json.js';

/** `initialized` and `parsed` both mean usable (kimi-free-api stops polling at either). */
const READY = new Set(['initialized', 'parsed']);

function statusCheck(status: string | undefined): ParseCheck {
  if (status === 'parsed') return { state: 'done' };
  // `failed` is named for parse_process only; read it the same way here.
  if (status === 'failed') return { state: 'failed', reason: "Kimi's parse ended failed" };
  return { state: 'pending' };
}

export async function uploadLegacyFile(http: KimiHttp, file: UpstreamFile, chatId: string, wait: ParseWait, ctx: UpstreamCallContext): Promise<KimiFileRef> {
  const post = (path: string, body: unknown): Promise<unknown> => http.json({ method: 'POST', path, body: JSON.stringify(body), protocol: 'rest' }, ctx);
  const action = file.kind === 'image' ? 'image' : 'file';
  const signed = obj(await post('/api/pre-sign-url', { action, name: file.name }));
  const url = str(signed?.url);
  if (!url) throw new ProxyError('upstream_protocol_error', `Kimi returned no upload URL for "${file.name}".`);
  await http.putObject(url, file.bytes, file.mime, ctx);

  const registration =
    file.kind === 'image'
      ? { type: 'image', file_id: str(signed?.file_id) ?? '', name: file.name }
      : { type: 'file', name: file.name, object_name: str(signed?.object_name) ?? '', file_id: '', chat_id: chatId };
  let id: string | undefined;
  await wait.until(async () => {
    const detail = obj(await post('/api/file', registration));
    id ??= str(detail?.id);
    const status = str(detail?.status);
    if (status && READY.has(status)) return { state: 'done' };
    return statusCheck(status);
  });
  if (!id) throw new ProxyError('upstream_protocol_error', `Kimi registered "${file.name}" but returned no file id.`);
  if (file.kind === 'document') await waitForParse(http, file, id, wait, ctx);
  return { id, name: file.name, size: file.bytes.byteLength, kind: file.kind };
}

/** `parse_process`: an SSE stream of `resp` records whose `file_info.status` ends `parsed` or `failed`. */
async function waitForParse(http: KimiHttp, file: UpstreamFile, id: string, wait: ParseWait, ctx: UpstreamCallContext): Promise<void> {
  await wait.until(async () => {
    const deadline = AbortSignal.timeout(Math.max(1, wait.remainingMs));
    const signal = AbortSignal.any([ctx.signal, deadline]);
    let status: string | undefined;
    try {
      const res = await http.send(
        { method: 'POST', path: '/api/file/parse_process', body: JSON.stringify({ ids: [id], timeout: wait.remainingMs }), contentType: 'application/json', protocol: 'rest' },
        { ...ctx, signal },
      );
      const parser = createParser({
        onEvent: (e) => {
          try {
            const record = obj(JSON.parse(e.data));
            const info = obj(record?.file_info);
            if (record?.event === 'resp' && (info?.id === undefined || info.id === id)) status = str(info?.status) ?? status;
          } catch {
            // A record that is not JSON says nothing about the parse.
          }
        },
      });
      const decoder = new TextDecoder();
      for await (const chunk of res.body) {
        parser.feed(decoder.decode(chunk, { stream: true }));
        if (status === 'parsed' || status === 'failed') break;
      }
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      if (deadline.aborted) throw attachmentFailed(file, 'Kimi was still parsing it when the wait ended');
      throw err;
    }
    return statusCheck(status);
  });
}

/** The completion's file fields (spec A.4 `refs`, `refs_file`), built from what Kimi reported. */
export function legacyRefs(refs: readonly KimiFileRef[]): { refs: string[]; refs_file: Array<Record<string, unknown>> } {
  return {
    refs: refs.map((r) => r.id),
    refs_file: refs.map((r) => {
      const detail = { id: r.id, name: r.name, size: r.size, type: r.kind === 'image' ? 'image' : 'file', status: 'parsed' };
      return { detail, done: true, file: {}, file_info: detail, id: r.id, name: r.name, parse_status: 'success', size: r.size, upload_progress: 100, upload_status: 'success' };
    }),
  };
}
