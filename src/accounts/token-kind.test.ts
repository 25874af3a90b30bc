import { describe, expect, it } from 'vitest';
import { jwt } from './__fixtures__/fakes.js';
import { decodeJwtPayload, describeToken, normalizeToken } from './token-kind.js';

const access = jwt({ typ: 'access', app_id: 'kimi', sub: 'user1', exp: 1_900_000_000, iat: 1_899_999_100, device_id: '7000000000000000001', ssid: '1700000000000000002' });
const refreshJwt = jwt({ typ: 'refresh', iss: 'account', sub: 'user2', exp: 1_950_000_000 });

describe('describeToken', () => {
  it('recognises an access JWT and reads its claims', () => {
    expect(describeToken(access)).toEqual({
      kind: 'access',
      expiresAt: 1_900_000_000_000,
      issuedAt: 1_899_999_100_000,
      userId: 'user1',
      deviceId: '7000000000000000001',
      sessionId: '1700000000000000002',
    });
  });

  it('recognises a refresh JWT of the auth gateway', () => {
    expect(describeToken(refreshJwt)).toMatchObject({ kind: 'refresh-jwt', userId: 'user2', expiresAt: 1_950_000_000_000 });
  });

  it('treats opaque strings as refresh tokens', () => {
    expect(describeToken('cpmt_abcdef0123456789')).toEqual({ kind: 'refresh' });
    expect(describeToken('d0a8f7e6c5b4a3')).toEqual({ kind: 'refresh' });
  });

  it('needs app_id kimi for an access token', () => {
    expect(describeToken(jwt({ typ: 'access', app_id: 'other', exp: 1 })).kind).toBe('refresh');
  });

  it('treats garbage that starts like a JWT as opaque', () => {
    expect(describeToken('eyJnot-base64!.x.y')).toEqual({ kind: 'refresh' });
    expect(describeToken('eyJhbGciOi.bm90IGpzb24.sig')).toEqual({ kind: 'refresh' });
    expect(describeToken('eyJhbGciOiJIUzUxMiJ9.eyJ0eXAiOiJhY2Nlc3Mi')).toEqual({ kind: 'refresh' });
    expect(describeToken(`x.${Buffer.from('[1,2]').toString('base64url')}.y`)).toEqual({ kind: 'refresh' });
    expect(decodeJwtPayload('a.b')).toBeUndefined();
  });

  it('ignores unusable claim values', () => {
    const t = jwt({ typ: 'access', app_id: 'kimi', exp: 'soon', sub: 42, device_id: null });
    expect(describeToken(t)).toEqual({ kind: 'access', userId: '42' });
  });
});

describe('normalizeToken', () => {
  it('strips Bearer, quotes and whitespace', () => {
    expect(normalizeToken(`  Bearer ${access}  `)).toBe(access);
    expect(normalizeToken(`"${access}"`)).toBe(access);
    expect(normalizeToken(`'bearer cpmt_x1'`)).toBe('cpmt_x1');
    expect(normalizeToken(`"Bearer cpmt_x2"`)).toBe('cpmt_x2');
    expect(describeToken(`Bearer ${access}`).kind).toBe('access');
  });

  it('joins the legacy split form with dots', () => {
    const [a, b, c] = access.split('.');
    const split = JSON.stringify([a, b, c]);
    expect(normalizeToken(split)).toBe(access);
    expect(describeToken(split).kind).toBe('access');
    expect(normalizeToken('["abc","def"]')).toBe('abc.def');
  });

  it('leaves other bracketed text alone', () => {
    expect(normalizeToken('[1,2]')).toBe('[1,2]');
    expect(normalizeToken('[not json')).toBe('[not json');
  });
});
