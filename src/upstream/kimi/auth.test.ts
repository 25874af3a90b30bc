import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isProxyError } from '../../core/errors.js';
import { RefreshTokenRejectedError, parseRefreshResponse, refreshAccessToken } from './auth.js';
import { KimiHttp } from './http.js';

interface Reply {
  status: number;
  body: string;
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const accessJwt = (exp: number): string => `${b64({ alg: 'HS512' })}.${b64({ typ: 'access', app_id: 'kimi', exp })}.sig`;

let server: Server;
let http: KimiHttp;
let reply: Reply;
const seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => {
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  http = new KimiHttp({ baseUrl: `http://127.0.0.1:${port}`, timeouts: { connectMs: 2_000, firstByteMs: 2_000, idleMs: 2_000, totalMs: 5_000 } });
});

afterAll(async () => {
  await http.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen.length = 0;
});

const signal = (): AbortSignal => AbortSignal.timeout(5_000);

describe('refreshAccessToken', () => {
  it('sends GET /api/auth/token/refresh with the refresh token as Bearer and reads both tokens', async () => {
    const access = accessJwt(1_900_000_000);
    reply = { status: 200, body: JSON.stringify({ access_token: access, refresh_token: 'cpmt_rotated' }) };
    const result = await refreshAccessToken(http, 'cpmt_original', '7000000000000000001', signal(), { accountId: 'acct_x', sessionId: '1700000000000000001' });
    expect(result).toEqual({ accessToken: access, refreshToken: 'cpmt_rotated', expiresAt: 1_900_000_000_000 });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.method).toBe('GET');
    expect(seen[0]!.url).toBe('/api/auth/token/refresh');
    expect(seen[0]!.headers.authorization).toBe('Bearer cpmt_original');
    expect(seen[0]!.headers['x-msh-device-id']).toBe('7000000000000000001');
  });

  it('accepts `token` as the access-token field and prefers expires_in', async () => {
    reply = { status: 200, body: JSON.stringify({ token: 'opaque-access', expires_in: 900 }) };
    const result = await refreshAccessToken(http, 'cpmt_a', '7000000000000000001', signal(), { now: () => 1_000_000 });
    expect(result).toEqual({ accessToken: 'opaque-access', expiresAt: 1_000_000 + 900_000 });
  });

  it.each([401, 403, 400])('throws RefreshTokenRejectedError on HTTP %i', async (status) => {
    reply = { status, body: JSON.stringify({ error_type: 'auth.token.invalid', message: 'invalid' }) };
    const err = await refreshAccessToken(http, 'cpmt_dead', '7000000000000000001', signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefreshTokenRejectedError);
    expect((err as RefreshTokenRejectedError).code).toBe('upstream_unauthenticated');
    expect((err as Error).message).not.toContain('cpmt_dead');
  });

  it('keeps server errors as they are (not a rejected token)', async () => {
    reply = { status: 500, body: '{}' };
    const err = await refreshAccessToken(http, 'cpmt_a', '7000000000000000001', signal()).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(RefreshTokenRejectedError);
    expect(isProxyError(err) && err.code).toBe('upstream_http_error');
  });

  it('fails with a protocol error when the answer has no access token', async () => {
    reply = { status: 200, body: JSON.stringify({ refresh_token: 'x' }) };
    const err = await refreshAccessToken(http, 'cpmt_a', '7000000000000000001', signal()).catch((e: unknown) => e);
    expect(isProxyError(err) && err.code).toBe('upstream_protocol_error');
  });
});

describe('parseRefreshResponse', () => {
  it('ignores an empty refresh token and reads expires_in given as a string', () => {
    expect(parseRefreshResponse({ access_token: 'a', refresh_token: '' }, 0)).toEqual({ accessToken: 'a' });
    expect(parseRefreshResponse({ access_token: 'a', expires_in: '60' }, 10)).toEqual({ accessToken: 'a', expiresAt: 60_010 });
  });
});
