/** Small node:http helpers: bodies, JSON answers, bearer tokens and both protocols' error bodies. */
import type { IncomingMessage, ServerResponse } from 'node:http';

export class BodyTooLarge extends Error {}

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.byteLength;
    if (size > limit) throw new BodyTooLarge(`request body over ${limit} bytes`);
    parts.push(buf);
  }
  return Buffer.concat(parts);
}

/** Parses a JSON object body; empty bodies count as `{}`; anything else is undefined. */
export function parseJsonObject(body: Buffer): Record<string, unknown> | undefined {
  const text = body.toString('utf8').trim();
  if (text === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}

/** The bearer token of a request ('' when absent). */
export function bearerOf(req: IncomingMessage): string {
  const h = req.headers.authorization ?? '';
  const m = /^Bearer\s+(.*)$/i.exec(h.trim());
  return m ? m[1]!.trim() : '';
}

/**
 * The credential of an API call: the bearer, else the `kimi-auth` cookie. Cookie-only auth is
 * unknown (spec F.7), so the emulator accepts both forms.
 */
export function credentialOf(req: IncomingMessage): string {
  const bearer = bearerOf(req);
  if (bearer !== '') return bearer;
  const m = /(?:^|;\s*)kimi-auth=([^;]*)/.exec(req.headers.cookie ?? '');
  return m ? m[1]!.trim() : '';
}

/** Legacy error body (spec A.11). */
export function sendRestError(res: ServerResponse, status: number, errorType: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error_type: errorType, message }, headers);
}

/** Connect unary-style error (spec B.11). */
export function sendConnectError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { code, message }, headers);
}

export function retryAfterHeader(sec: number | null): Record<string, string> {
  return sec === null ? {} : { 'retry-after': String(sec) };
}

/** Reads a string field under either its snake_case or lowerCamel name (protobuf JSON accepts both). */
export function field(obj: unknown, snake: string): unknown {
  if (!obj || typeof obj !== 'object') return undefined;
  const o = obj as Record<string, unknown>;
  if (snake in o) return o[snake];
  const camel = snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return o[camel];
}

export function stringField(obj: unknown, snake: string): string | undefined {
  const v = field(obj, snake);
  return typeof v === 'string' ? v : undefined;
}


/** decodeURIComponent that leaves malformed escapes as they are. */
export function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
