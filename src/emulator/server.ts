/** The node:http request dispatcher: control API, Connect `/apiv2`, Connect files, legacy `/api`, upload targets. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLarge, credentialOf, parseJsonObject, readBody, safeDecode, sendConnectError, sendJson } from './http-io.js';
import { requireCaller } from './auth-gate.js';
import { handleConnectChat } from './connect-chat.js';
import { decodeRequestEnvelope } from './connect-request.js';
import { handleConnectUnary } from './connect-unary.js';
import { CONTROL_PREFIX, handleControlHttp } from './control.js';
import { connectUpload, OBJECT_PREFIX, parseProgress, putObject, SIGN_OBJ_PREFIX, signedObject } from './files-api.js';
import { handleRest } from './rest-api.js';
import { selectHeaders } from './stats.js';
import type { EmulatorState } from './state.js';
import type { EmulatorControl } from './types.js';

const CHAT_METHODS = new Set(['kimi.gateway.chat.v1.ChatService/Chat', 'kimi.chat.v1.ChatService/Chat']);
const UPLOAD_PATH = '/apiv2-files/file/upload';
const PARSE_PROGRESS_PATH = '/apiv2-files/kimi.gateway.file.v1.FileService/GetFileParseProgress';
const JSON_LIMIT = 16 * 1024 * 1024;
/** Clients cap uploads at 100 MB (spec A.10). */
const UPLOAD_LIMIT = 110 * 1024 * 1024;

function loggedBody(req: IncomingMessage, raw: Buffer): unknown {
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (type.startsWith('application/connect+json')) return decodeRequestEnvelope(raw) ?? null;
  if (raw.byteLength === 0 || type.startsWith('multipart/')) return null;
  return parseJsonObject(raw) ?? null;
}

function record(state: EmulatorState, req: IncomingMessage, path: string, raw: Buffer): void {
  const token = credentialOf(req);
  state.stats.request(
    { method: req.method ?? 'GET', path, body: loggedBody(req, raw), headers: selectHeaders(req.headers) },
    token === '' ? undefined : state.tokens.accountKeyOf(token),
  );
}

function methodNotAllowed(res: ServerResponse): void {
  // [U5]: GET on an RPC path answers 405 with `allow: POST`.
  res.writeHead(405, { allow: 'POST' }).end();
}

async function dispatch(state: EmulatorState, control: EmulatorControl, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://emulator').pathname;
  const method = req.method ?? 'GET';
  let raw: Buffer;
  try {
    raw = await readBody(req, path.startsWith(OBJECT_PREFIX) || path === UPLOAD_PATH ? UPLOAD_LIMIT : JSON_LIMIT);
  } catch (err) {
    if (err instanceof BodyTooLarge) return sendJson(res, 413, { error: err.message }, { connection: 'close' });
    throw err;
  }
  if (path.startsWith(CONTROL_PREFIX)) return handleControlHttp(control, req, res, path, raw);
  record(state, req, path, raw);

  if (path.startsWith('/apiv2/')) {
    if (method !== 'POST') return methodNotAllowed(res);
    const rpc = path.slice('/apiv2/'.length);
    if (CHAT_METHODS.has(rpc)) return handleConnectChat(state, req, res, raw);
    if (handleConnectUnary(state, req, res, rpc, raw)) return;
    return sendConnectError(res, 404, 'unimplemented', `${rpc} is not implemented`);
  }
  if (path.startsWith(SIGN_OBJ_PREFIX) && method === 'GET') return signedObject(state, res, safeDecode(path.slice(SIGN_OBJ_PREFIX.length)));
  if (path === UPLOAD_PATH || path === PARSE_PROGRESS_PATH) {
    if (method !== 'POST') return methodNotAllowed(res);
    const caller = requireCaller(state, req, res, 'connect');
    if (!caller) return;
    if (path === UPLOAD_PATH) return connectUpload(state, res, raw, req.headers['content-type'] ?? '', caller.accountKey);
    const body = parseJsonObject(raw);
    if (!body) return sendConnectError(res, 400, 'invalid_argument', 'body must be a JSON object');
    return parseProgress(state, res, body, caller.accountKey);
  }
  if (path === '/api' || path.startsWith('/api/')) return handleRest(state, req, res, path, raw);
  if (path.startsWith(OBJECT_PREFIX) && method === 'PUT') {
    return putObject(state, res, safeDecode(path.slice(OBJECT_PREFIX.length)), raw, req.headers['content-type'] ?? 'application/octet-stream');
  }
  sendJson(res, 404, { error: 'not found' });
}

export function createRequestHandler(state: EmulatorState, control: EmulatorControl): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    dispatch(state, control, req, res).catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
    });
  };
}
