/**
 * The dashboard's only way to the server: the admin API under /admin/api, with the session
 * cookie (sent by the browser) and the session's CSRF token on every state-changing call.
 * A 401 sends the user back to the login page.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken: string | undefined;
/** When the current session ends (unix seconds): a 401 after it means "expired", not "signed out". */
let sessionExpiresAt: number | undefined;
let onSignedOut: ((reason: 'expired' | 'signed-out') => void) | undefined;

export function setSignedOutHandler(handler: (reason: 'expired' | 'signed-out') => void): void {
  onSignedOut = handler;
}

export function setSession(session: { csrf_token: string | null; expires_at: number | null } | undefined): void {
  csrfToken = session?.csrf_token ?? undefined;
  sessionExpiresAt = session?.expires_at ?? undefined;
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = 'http_error';
  let message = `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
  } catch {
    // Not JSON: keep the status line.
  }
  return new ApiError(res.status, code, message);
}

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(`/admin/api${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) {
    const err = await errorOf(res);
    if (res.status === 401 && path !== '/session') {
      // The browser drops the cookie when it expires, so the server may only see "no session".
      const expired = err.code === 'admin_session_expired' || (sessionExpiresAt !== undefined && Date.now() >= sessionExpiresAt * 1000);
      onSignedOut?.(expired ? 'expired' : 'signed-out');
    }
    throw err;
  }
  return (await res.json()) as T;
}

export const get = <T = unknown>(path: string): Promise<T> => api<T>('GET', path);
export const post = <T = unknown>(path: string, body: unknown = {}): Promise<T> => api<T>('POST', path, body);
export const patch = <T = unknown>(path: string, body: unknown): Promise<T> => api<T>('PATCH', path, body);
export const del = <T = unknown>(path: string): Promise<T> => api<T>('DELETE', path);

/** Query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
