/** Login with the admin token: the server answers with a session cookie and the CSRF token. */
import { useState } from 'preact/hooks';
import { ApiError, post, setSession } from '../api';
import { Notice } from '../components/Notice';
import { useI18n } from '../i18n';

export function Login({ expired, onIn }: { expired: boolean; onIn: () => void }) {
  const { t } = useI18n();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setSession(await post<{ csrf_token: string; expires_at: number }>('/session', { token }));
      setToken('');
      onIn();
    } catch (err) {
      setError(err instanceof ApiError && err.status === 429 ? t('login.limited') : err instanceof ApiError && err.status === 401 ? t('login.wrong') : String((err as Error).message));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login" id="main">
      <h1>{t('app.title')}</h1>
      <form onSubmit={submit} class="card">
        <h2>{t('login.title')}</h2>
        {expired ? <Notice kind="error" text={t('login.expired')} /> : null}
        <label for="admin-token">{t('login.token')}</label>
        <input id="admin-token" type="password" autocomplete="current-password" required value={token} onInput={(e) => setToken(e.currentTarget.value)} aria-describedby="admin-token-hint" />
        <p id="admin-token-hint" class="hint">
          {t('login.hint')}
        </p>
        <Notice kind="error" text={error} />
        <button type="submit" disabled={busy || token === ''}>
          {t('login.submit')}
        </button>
      </form>
    </main>
  );
}
