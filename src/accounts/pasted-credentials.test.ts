import { describe, expect, it } from 'vitest';
import { jwt } from './__fixtures__/fakes.js';
import { extractPastedToken } from './pasted-credentials.js';

const NOW = 1_800_000_000_000;
const access = jwt({ typ: 'access', app_id: 'kimi', sub: 'user1', exp: 1_900_000_000 });
const expiredAccess = jwt({ typ: 'access', app_id: 'kimi', sub: 'user1', exp: 1_700_000_000 });
const refreshJwt = jwt({ typ: 'refresh', sub: 'user2', exp: 1_950_000_000 });

describe('extractPastedToken', () => {
  it('takes a bare token in any form users paste', () => {
    expect(extractPastedToken(`Bearer ${access}`, NOW)).toMatchObject({ token: access, kind: 'access', source: 'token' });
    expect(extractPastedToken(`  "cpmt_abcdef0123456789"  `, NOW)).toMatchObject({ token: 'cpmt_abcdef0123456789', kind: 'refresh' });
  });

  it('reads the kimi-auth cookie, alone or in a Cookie header', () => {
    expect(extractPastedToken(`kimi-auth=${access}`, NOW)).toMatchObject({ token: access, source: 'kimi-auth', kind: 'access', expiresAt: 1_900_000_000_000 });
    expect(extractPastedToken(`Cookie: _ga=GA1.1.1; kimi-auth=${access}; theme=dark`, NOW)).toMatchObject({ token: access, source: 'kimi-auth' });
  });

  it('prefers the refresh token of a localStorage dump', () => {
    const dump = JSON.stringify({ access_token: access, refresh_token: refreshJwt, theme: 'dark', other: JSON.stringify({ x: 1 }) });
    expect(extractPastedToken(dump, NOW)).toMatchObject({ token: refreshJwt, kind: 'refresh-jwt', source: 'refresh_token' });
    expect(extractPastedToken(`access_token: ${access}\nrefresh_token: cpmt_0123456789abcdefgh`, NOW)).toMatchObject({
      token: 'cpmt_0123456789abcdefgh',
      kind: 'refresh',
    });
  });

  it('finds the token in a bash "Copy as cURL"', () => {
    const curl = [
      `curl 'https://www.kimi.com/apiv2/kimi.gateway.chat.v1.ChatService/Chat' \\`,
      `  -H 'accept: */*' \\`,
      `  -H 'authorization: Bearer ${access}' \\`,
      `  -H 'x-msh-device-id: 7000000000000000001' \\`,
      `  -b '_ga=GA1.1.1; kimi-auth=${expiredAccess}' \\`,
      `  --data-raw '{"scenario":"SCENARIO_K2D5"}'`,
    ].join('\n');
    // The unexpired header token wins over the stale cookie.
    expect(extractPastedToken(curl, NOW)).toMatchObject({ token: access, kind: 'access', source: 'authorization' });
  });

  it('finds the token in a cmd "Copy as cURL" (^ escapes)', () => {
    const curl = `curl ^"https://www.kimi.com/api/user^" ^\n  -H ^"Authorization: Bearer ${access}^" ^\n  -H ^"accept: */*^"`;
    expect(extractPastedToken(curl, NOW)).toMatchObject({ token: access, source: 'authorization' });
  });

  it('finds nothing in text without a token', () => {
    expect(extractPastedToken('', NOW)).toBeUndefined();
    expect(extractPastedToken('hello there, no token here', NOW)).toBeUndefined();
    expect(extractPastedToken(`curl 'https://www.kimi.com/' -H 'accept: */*'`, NOW)).toBeUndefined();
  });
});
