import { afterEach, describe, expect, it } from 'vitest';
import { chatRequest, connectChat, json, send, unary } from './__fixtures__/wire.js';
import { FakeClock } from '../store/fake-clock.js';
import { startEmulator, type Emulator } from './index.js';
import { decodeJwtPayload, encodeJwt, isAccessJwt } from './jwt.js';

const open: Emulator[] = [];
async function start(opts: Parameters<typeof startEmulator>[0] = {}): Promise<Emulator> {
  const emu = await startEmulator(opts);
  open.push(emu);
  return emu;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
});

async function refresh(emu: Emulator, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await send(`${emu.url}/api/auth/token/refresh`, { method: 'GET', token });
  return { status: res.status, body: json(res) };
}

const subscription = (emu: Emulator, token: string): ReturnType<typeof unary> => unary(emu.url, token, 'kimi.gateway.order.v1.SubscriptionService/GetSubscription');

describe('refresh endpoint', () => {
  it('issues an HS512 access JWT with the spec claims and rotates the refresh token', async () => {
    const emu = await start();
    const r = await refresh(emu, 'cpmt_original');
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['access_token', 'refresh_token']);
    const access = r.body.access_token as string;
    expect(isAccessJwt(access)).toBe(true);
    expect(JSON.parse(Buffer.from(access.split('.')[0]!, 'base64url').toString())).toEqual({ alg: 'HS512', typ: 'JWT' });
    const claims = decodeJwtPayload(access)!;
    expect(claims).toMatchObject({ iss: 'user-center', typ: 'access', app_id: 'kimi', region: 'overseas', membership: { level: 10 } });
    expect(claims.sub).toMatch(/^[0-9a-v]{20}$/);
    expect(claims.device_id).toMatch(/^\d{19}$/);
    expect(claims.ssid).toMatch(/^\d{19}$/);
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);
    expect(typeof claims.jti).toBe('string');

    const next = r.body.refresh_token as string;
    expect(next).not.toBe('cpmt_original');
    expect((await refresh(emu, 'cpmt_original')).status).toBe(401);
    const again = await refresh(emu, next);
    expect(again.status).toBe(200);
    expect(decodeJwtPayload(again.body.access_token as string)!.sub).toBe(claims.sub);
    // Both refreshes count under the lineage's original refresh token.
    expect(emu.stats().refreshes).toEqual({ cpmt_original: 2 });
    expect(emu.control.accountKeyOf(again.body.access_token as string)).toBe('cpmt_original');
  });

  it('keeps the refresh token when rotation is off', async () => {
    const emu = await start({ rotateRefreshTokens: false });
    const a = await refresh(emu, 'stable');
    const b = await refresh(emu, 'stable');
    expect(a.body.refresh_token).toBe('stable');
    expect(b.status).toBe(200);
    expect(b.body.access_token).not.toBe(a.body.access_token);
    expect(emu.stats().refreshes.stable).toBe(2);
  });

  it('rejects access JWTs, empty and invalidated tokens with auth.token.invalid', async () => {
    const emu = await start();
    const access = (await refresh(emu, 'root')).body.access_token as string;
    const withAccess = await refresh(emu, access);
    expect(withAccess).toEqual({ status: 401, body: { error_type: 'auth.token.invalid', message: expect.any(String) } });
    expect((await refresh(emu, '')).status).toBe(401);
    emu.control.invalidateToken('other');
    expect((await refresh(emu, 'other')).status).toBe(401);
  });
});

describe('access tokens on API calls', () => {
  it('expires short-lived emulator-issued tokens (REST and Connect 401)', async () => {
    const clock = new FakeClock();
    const emu = await start({ accessTokenTtlSec: 60, clock });
    const first = (await refresh(emu, 'short-lived')).body;
    const access = first.access_token as string;
    expect((await send(`${emu.url}/api/user`, { method: 'GET', token: access })).status).toBe(200);
    clock.advance(59_000);
    expect((await subscription(emu, access)).status).toBe(200);
    clock.advance(1_000);
    const user = await send(`${emu.url}/api/user`, { method: 'GET', token: access });
    expect(user.status).toBe(401);
    expect(json(user).error_type).toBe('auth.token.invalid');
    const sub = await subscription(emu, access);
    expect(sub.status).toBe(401);
    expect(json(sub).code).toBe('unauthenticated');
    expect((await connectChat(emu.url, access, chatRequest('hi'))).status).toBe(401);
    // Refreshing with the rotated refresh token brings the account back.
    const fresh = await refresh(emu, first.refresh_token as string);
    expect((await subscription(emu, fresh.body.access_token as string)).status).toBe(200);
  });

  it('rejects foreign access JWTs that are expired, accepts other bearers with acceptAnyToken', async () => {
    const emu = await start();
    const past = Math.floor(Date.now() / 1000) - 10;
    const expired = encodeJwt({ typ: 'access', app_id: 'kimi', exp: past, sub: 'x' });
    const valid = encodeJwt({ typ: 'access', app_id: 'kimi', exp: past + 3600, sub: 'x' });
    expect((await subscription(emu, expired)).status).toBe(401);
    expect((await subscription(emu, valid)).status).toBe(200);
    expect((await subscription(emu, 'anything-goes')).status).toBe(200);
    expect((await subscription(emu, '')).status).toBe(401);
  });

  it('without acceptAnyToken only emulator-issued access tokens work', async () => {
    const emu = await start({ acceptAnyToken: false });
    expect((await subscription(emu, 'random')).status).toBe(401);
    const access = (await refresh(emu, 'random')).body.access_token as string;
    expect((await subscription(emu, access)).status).toBe(200);
  });

  it('invalidating an original refresh token kills its whole lineage; reset revives it', async () => {
    const emu = await start();
    const access = (await refresh(emu, 'lineage')).body.access_token as string;
    emu.control.invalidateToken('lineage');
    expect((await subscription(emu, access)).status).toBe(401);
    emu.control.reset();
    expect((await subscription(emu, access)).status).toBe(200);
  });
});
