import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../store/fake-clock.js';
import { AdminSessions } from './session.js';

const TOKEN = 'adm-0123456789abcdef-secret';

describe('AdminSessions', () => {
  it('accepts its own cookie until it expires, then reports it expired', () => {
    const clock = new FakeClock();
    const sessions = new AdminSessions(TOKEN, clock, 60_000);
    const { session, cookie } = sessions.create();
    expect(sessions.read(cookie)).toEqual(session);
    clock.advance(59_999);
    expect(sessions.read(cookie)).toEqual(session);
    clock.advance(1);
    expect(sessions.read(cookie)).toBe('expired');
  });

  it('refuses forged, altered and foreign cookies', () => {
    const clock = new FakeClock();
    const sessions = new AdminSessions(TOKEN, clock, 60_000);
    const { cookie } = sessions.create();
    const [id, exp, sig] = cookie.split('.') as [string, string, string];
    // A later expiry with the old signature, another id, another token's key.
    expect(sessions.read(`${id}.${Number(exp) + 1_000_000}.${sig}`)).toBeUndefined();
    expect(sessions.read(`x${id}.${exp}.${sig}`)).toBeUndefined();
    expect(new AdminSessions(`${TOKEN}-other`, clock, 60_000).read(cookie)).toBeUndefined();
    expect(sessions.read('garbage')).toBeUndefined();
    expect(sessions.read(undefined)).toBeUndefined();
  });

  it('ties the CSRF token to the session', () => {
    const sessions = new AdminSessions(TOKEN, new FakeClock(), 60_000);
    const a = sessions.create().session;
    const b = sessions.create().session;
    expect(sessions.csrfValid(a, sessions.csrfToken(a))).toBe(true);
    expect(sessions.csrfValid(a, sessions.csrfToken(b))).toBe(false);
    expect(sessions.csrfValid(a, undefined)).toBe(false);
    expect(sessions.csrfValid(a, '')).toBe(false);
  });

  it('ends a session at logout', () => {
    const sessions = new AdminSessions(TOKEN, new FakeClock(), 60_000);
    const { session, cookie } = sessions.create();
    sessions.end(session);
    expect(sessions.read(cookie)).toBeUndefined();
  });
});
