/**
 * Who may use /admin/api: scripts with ADMIN_TOKEN in a header (as before), or the dashboard
 * with a session cookie from `POST /admin/api/session` plus the session's CSRF token on every
 * state-changing call. Client API keys open nothing here. Logins are limited per client
 * address through the store (so the limit holds across instances).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AdminTokenVerifier } from '../../auth/admin-token.js';
import { ProxyError } from '../../core/errors.js';
import type { Clock } from '../../core/clock.js';
import type { Store } from '../../store/store.js';
import { AdminSessions, SESSION_COOKIE, type Session } from './session.js';
import { requestSchema } from './openapi.js';
import { answers, bool, constant, int, object, oneOf, orNull, str, time } from './schema-parts.js';
import { parseBody, seconds } from './validate.js';

/** Login attempts allowed per client address and minute. */
const LOGINS_PER_MINUTE = 10;
const MINUTE_MS = 60_000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const loginSchema = z
  .object({ token: z.string({ error: 'expected the admin token' }).min(1, { error: 'expected the admin token' }).max(4096).describe('ADMIN_TOKEN.') })
  .strict();

const sessionFields = {
  object: constant('admin.session', 'Always "admin.session".'),
  csrf_token: str('Send it as x-csrf-token on every call other than GET/HEAD made with the session cookie.'),
  expires_at: int('When the session ends (unix seconds).'),
};
const session = object('Who is calling.', {
  ...sessionFields,
  via: oneOf(['session', 'token'], 'session: the dashboard\'s cookie; token: ADMIN_TOKEN in a header.'),
  csrf_token: orNull(sessionFields.csrf_token),
  expires_at: time('When the session ends; null with a token'),
});

const behindTls = (request: FastifyRequest): boolean =>
  request.protocol === 'https' || String(request.headers['x-forwarded-proto'] ?? '').split(',')[0]?.trim() === 'https';

export interface AdminAccess {
  /** The session of a dashboard request (undefined for a script using the token). */
  sessionOf(request: FastifyRequest): Session | undefined;
}

export interface AdminAccessDeps {
  adminToken: string;
  /** Lifetime of a dashboard login (ADMIN_SESSION_TTL_MS). */
  sessionTtlMs: number;
  clock: Clock;
  /** Counts login attempts per client address across instances. */
  store: Pick<Store, 'increment'>;
  logger: Logger;
}

export async function registerAdminAccess(admin: FastifyInstance, deps: AdminAccessDeps, prefix: string): Promise<AdminAccess> {
  const verifier = new AdminTokenVerifier(deps.adminToken);
  const sessions = new AdminSessions(deps.adminToken, deps.clock, deps.sessionTtlMs);
  const sessionOfRequest = new WeakMap<FastifyRequest, Session>();
  // Loaded only with ADMIN_TOKEN (this module runs only then).
  const { default: cookie } = await import('@fastify/cookie');
  await admin.register(cookie);

  const setCookie = (request: FastifyRequest, reply: FastifyReply, value: string, maxAgeS: number): void => {
    void reply.setCookie(SESSION_COOKIE, value, { path: '/admin', httpOnly: true, sameSite: 'strict', secure: behindTls(request), maxAge: maxAgeS });
  };

  admin.addHook('onRequest', async (request) => {
    if (request.method === 'POST' && request.routeOptions.url === `${prefix}/session`) return;
    if (request.headers.authorization !== undefined || request.headers['x-admin-token'] !== undefined) {
      verifier.verify(request.headers);
      return;
    }
    const session = sessions.read(request.cookies[SESSION_COOKIE]);
    if (session === 'expired') throw new ProxyError('admin_session_expired', 'The dashboard session has expired: log in again.');
    if (!session) {
      throw new ProxyError('invalid_admin_token', 'Missing admin token: log in to the dashboard, or send ADMIN_TOKEN as "Authorization: Bearer <token>".');
    }
    if (!SAFE_METHODS.has(request.method)) {
      const presented = request.headers['x-csrf-token'];
      if (!sessions.csrfValid(session, typeof presented === 'string' ? presented : undefined)) {
        throw new ProxyError('csrf_token_invalid', 'Missing or wrong x-csrf-token header: reload the dashboard.');
      }
    }
    sessionOfRequest.set(request, session);
  });

  const tags = ['session'];
  const login = {
    tags,
    summary: 'Log in (dashboard)',
    description: 'Sets the session cookie. At most 10 attempts per client address and minute (then 429 with Retry-After). Needs no other credential.',
    body: requestSchema(loginSchema),
    response: answers(200, object('The new session.', sessionFields)),
  };
  admin.post('/session', { schema: login }, async (request, reply) => {
    const attempts = await deps.store.increment(`admin-login:${request.ip}`, MINUTE_MS);
    if (attempts > LOGINS_PER_MINUTE) {
      throw new ProxyError('rate_limit_exceeded', `Too many login attempts: at most ${LOGINS_PER_MINUTE} per minute.`, { retryAfterMs: MINUTE_MS });
    }
    const { token } = parseBody(loginSchema, request.body);
    verifier.verify({ authorization: `Bearer ${token}` });
    const { session, cookie: value } = sessions.create();
    // Never shorter than the session: the server, not the browser, says when it expired.
    setCookie(request, reply, value, Math.ceil(sessions.ttlMs / 1000));
    deps.logger.info({ ip: request.ip }, 'dashboard login');
    return { object: 'admin.session', csrf_token: sessions.csrfToken(session), expires_at: seconds(session.expiresAt) };
  });

  admin.get('/session', { schema: { tags, summary: 'Who is calling', description: 'The dashboard reads its CSRF token here after a reload.', response: answers(200, session) } }, async (request) => {
    const session = sessionOfRequest.get(request);
    return {
      object: 'admin.session',
      via: session ? 'session' : 'token',
      csrf_token: session ? sessions.csrfToken(session) : null,
      expires_at: session ? seconds(session.expiresAt) : null,
    };
  });

  const loggedOut = object('The session is over.', { object: constant('admin.session.deleted', 'Always "admin.session.deleted".'), deleted: bool('Always true.') });
  admin.delete('/session', { schema: { tags, summary: 'Log out', description: 'Clears the cookie; this instance refuses the session from then on.', response: answers(200, loggedOut) } }, async (request, reply) => {
    const session = sessionOfRequest.get(request);
    if (session) sessions.end(session);
    setCookie(request, reply, '', 0);
    return { object: 'admin.session.deleted', deleted: true };
  });

  return { sessionOf: (request) => sessionOfRequest.get(request) };
}
