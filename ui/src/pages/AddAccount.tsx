/** Adding an account from pasted text: the server finds the token and says what kind it is before anything is added. */
import { useEffect, useState } from 'preact/hooks';
import { post } from '../api';
import { Notice, errorText } from '../components/Notice';
import { formatters, useI18n, type TextKey } from '../i18n';

interface Parsed {
  token_kind: string;
  source: string;
  masked_token: string;
  expires_at: number | null;
}

export function AddAccount({ onAdded }: { onAdded: () => void }) {
  const { t, lang } = useI18n();
  const f = formatters(lang);
  const [text, setText] = useState('');
  const [name, setName] = useState('');
  const [parsed, setParsed] = useState<Parsed>();
  const [error, setError] = useState<string>();
  const [ok, setOk] = useState<string>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setParsed(undefined);
    if (text.trim() === '') return;
    const timer = setTimeout(() => {
      post<Parsed>('/accounts/parse', { text })
        .then((p) => {
          setParsed(p);
          setError(undefined);
        })
        .catch((err) => setError(errorText(err)));
    }, 300);
    return () => clearTimeout(timer);
  }, [text]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setOk(undefined);
    try {
      const added = await post<{ name: string }>('/accounts', { text, ...(name.trim() ? { name: name.trim() } : {}) });
      setOk(t('accounts.added', { name: added.name }));
      setText('');
      setName('');
      onAdded();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card stack" onSubmit={submit}>
      <h2>{t('accounts.add')}</h2>
      <label for="account-paste">{t('accounts.paste')}</label>
      <textarea id="account-paste" rows={4} spellcheck={false} autocomplete="off" value={text} onInput={(e) => setText(e.currentTarget.value)} />
      {parsed ? (
        <p class="hint" role="status" data-testid="token-detected">
          {t('accounts.detected', {
            kind: t(`kind.${parsed.token_kind}` as TextKey),
            source: t(`source.${parsed.source}` as TextKey),
            expiry: parsed.expires_at ? t('accounts.expiresOn', { date: f.date(parsed.expires_at) }) : '',
          })}{' '}
          <code>{parsed.masked_token}</code>
        </p>
      ) : null}
      <label for="account-name">{t('accounts.nameOptional')}</label>
      <input id="account-name" value={name} pattern="[A-Za-z0-9._\-]{1,64}" onInput={(e) => setName(e.currentTarget.value)} />
      <Notice kind="error" text={error} />
      <Notice kind="ok" text={ok} />
      <div>
        <button type="submit" disabled={busy || !parsed}>
          {t('accounts.add')}
        </button>
      </div>
    </form>
  );
}
