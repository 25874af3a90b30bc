import { describe, expect, it } from 'vitest';
import { ProxyError } from '../../core/errors.js';
import { errorFromUpstreamResponse, parseRetryAfter } from './upstream-errors.js';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-05-01T10:00:00Z');
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
  });
  it('reads an HTTP date relative to now, never negative', () => {
    expect(parseRetryAfter('Fri, 01 May 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Fri, 01 May 2026 09:00:00 GMT', now)).toBe(0);
  });
  it('gives undefined for absent or unreadable values', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('errorFromUpstreamResponse', () => {
  const table: [number, string, number][] = [
    [401, 'upstream_unauthenticated', 502],
    [403, 'upstream_unauthenticated', 502],
    [429, 'upstream_rate_limited', 429],
    [408, 'upstream_timeout', 504],
    [504, 'upstream_timeout', 504],
    [503, 'upstream_overloaded', 503],
    [500, 'upstream_http_error', 502],
    [502, 'upstream_http_error', 502],
    [501, 'upstream_http_error', 502],
    [404, 'upstream_http_error', 502],
    [400, 'upstream_bad_request', 400],
    [418, 'upstream_http_error', 502],
  ];
  for (const [status, code, httpStatus] of table) {
    it(`HTTP ${status} → ${code}`, () => {
      const e = errorFromUpstreamResponse(status, {}, '', 'rest');
      expect(e).toBeInstanceOf(ProxyError);
      expect(e.code).toBe(code);
      expect(e.status).toBe(httpStatus);
      expect(e.message).toMatch(/^Kimi /);
      expect(e.message).toContain(`HTTP ${status}`);
    });
  }

  it('reads Retry-After on 429 (any header case, array values)', () => {
    expect(errorFromUpstreamResponse(429, { 'retry-after': '7' }, '', 'connect').retryAfterMs).toBe(7000);
    expect(errorFromUpstreamResponse(429, { 'Retry-After': ['3', '9'] }, '', 'connect').retryAfterMs).toBe(3000);
    expect(errorFromUpstreamResponse(429, {}, '', 'connect').retryAfterMs).toBeUndefined();
  });

  it('keeps the REST error_type and the Connect code (with debug reason) in upstreamCode', () => {
    const rest = errorFromUpstreamResponse(401, {}, '{"error_type":"auth.token.invalid","message":"token expired"}', 'rest');
    expect(rest.upstreamCode).toBe('auth.token.invalid');
    const connect = errorFromUpstreamResponse(401, {}, '{"code":"unauthenticated","message":"x","details":[{"debug":{"reason":"TOKEN_EXPIRED"}}]}', 'connect');
    expect(connect.upstreamCode).toBe('unauthenticated:TOKEN_EXPIRED');
    expect(errorFromUpstreamResponse(500, {}, '<html>oops</html>', 'rest').upstreamCode).toBe('http_500');
  });

  it('maps chat.user_stream_pushing to upstream_chat_busy', () => {
    const e = errorFromUpstreamResponse(400, {}, '{"error_type":"chat.user_stream_pushing","message":"busy"}', 'rest');
    expect(e.code).toBe('upstream_chat_busy');
  });

  it('maps a 404 about the chat to upstream_chat_not_found', () => {
    expect(errorFromUpstreamResponse(404, {}, '{"error_type":"chat.not_found"}', 'rest').code).toBe('upstream_chat_not_found');
    expect(errorFromUpstreamResponse(404, {}, '{"code":"not_found","message":"chat"}', 'connect').code).toBe('upstream_chat_not_found');
    expect(errorFromUpstreamResponse(404, {}, '{"error_type":"internal.error"}', 'rest').code).toBe('upstream_http_error');
  });

  it('never puts the body or a token in the message, and keeps upstreamCode clean', () => {
    const token = 'eyJhbGciOiJIUzUxMiJ9.secret.sig';
    const body = JSON.stringify({ error_type: `bad code ${token}\n<script>`, message: `token ${token} BODYTEXT` });
    const e = errorFromUpstreamResponse(401, { authorization: `Bearer ${token}` }, body, 'rest');
    expect(e.message).not.toContain('BODYTEXT');
    expect(e.message).not.toContain('secret');
    expect(e.upstreamCode).not.toContain('secret');
    expect(e.message.length).toBeLessThan(200);
    const odd = errorFromUpstreamResponse(400, {}, JSON.stringify({ error_type: `odd code\n<script>${'x'.repeat(300)}` }), 'rest');
    expect(odd.message).not.toContain('<script>');
    expect(odd.upstreamCode).not.toMatch(/[\s<>]/);
    expect(odd.upstreamCode!.length).toBeLessThanOrEqual(100);
  });
});
