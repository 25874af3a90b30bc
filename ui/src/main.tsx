/** The dashboard's shell: login gate, navigation (hash routes), language switch, logout. */
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { del, get, setSession, setSignedOutHandler } from './api';
import { I18nContext, browserLang, translator, type Lang, type TextKey } from './i18n';
import { Login } from './pages/Login';
import { Overview } from './pages/Overview';
import { Accounts } from './pages/Accounts';
import { Keys } from './pages/Keys';
import { Conversations } from './pages/Conversations';
import { Requests } from './pages/Requests';
import { Playground } from './pages/Playground';
import './styles.css';

const PAGES: ReadonlyArray<{ id: string; label: TextKey; view: () => preact.JSX.Element }> = [
  { id: 'overview', label: 'nav.overview', view: () => <Overview /> },
  { id: 'accounts', label: 'nav.accounts', view: () => <Accounts /> },
  { id: 'keys', label: 'nav.keys', view: () => <Keys /> },
  { id: 'conversations', label: 'nav.conversations', view: () => <Conversations /> },
  { id: 'requests', label: 'nav.requests', view: () => <Requests /> },
  { id: 'playground', label: 'nav.playground', view: () => <Playground /> },
];

const pageFromHash = (): string => {
  const id = location.hash.replace(/^#\/?/, '');
  return PAGES.some((p) => p.id === id) ? id : 'overview';
};

type Auth = 'checking' | 'in' | 'out' | 'expired';

function App() {
  const [lang, setLangState] = useState<Lang>(browserLang);
  const [auth, setAuth] = useState<Auth>('checking');
  const [page, setPage] = useState(pageFromHash);
  const [menuOpen, setMenuOpen] = useState(false);
  const i18n = useMemo(
    () => ({
      lang,
      t: translator(lang),
      setLang: (l: Lang) => {
        localStorage.setItem('kp-lang', l);
        setLangState(l);
      },
    }),
    [lang],
  );
  const { t } = i18n;

  useEffect(() => {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = t('app.title');
  }, [lang]);

  useEffect(() => {
    setSignedOutHandler((reason) => {
      setSession(undefined);
      // Several calls fail at once when a session ends: the first one says why.
      setAuth((a) => (a === 'in' ? (reason === 'expired' ? 'expired' : 'out') : a));
    });
    get<{ csrf_token: string | null; expires_at: number | null }>('/session')
      .then((s) => {
        setSession(s);
        setAuth('in');
      })
      .catch(() => setAuth((a) => (a === 'checking' ? 'out' : a)));
    const onHash = () => {
      setPage(pageFromHash());
      setMenuOpen(false);
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    const current = PAGES.find((p) => p.id === page);
    if (current && auth === 'in') document.title = `${t(current.label)} · ${t('app.title')}`;
    document.getElementById('main')?.focus();
  }, [page, auth, lang]);

  const logout = async () => {
    await del('/session').catch(() => undefined);
    setSession(undefined);
    setAuth('out');
  };

  const langSwitch = (
    <label class="lang">
      <span class="visually-hidden">{t('common.language')}</span>
      <select value={lang} onChange={(e) => i18n.setLang((e.currentTarget as HTMLSelectElement).value as Lang)}>
        <option value="en">English</option>
        <option value="zh">中文</option>
      </select>
    </label>
  );

  if (auth !== 'in') {
    return (
      <I18nContext.Provider value={i18n}>
        <div class="login-shell">
          <div class="login-top">{langSwitch}</div>
          {auth === 'checking' ? <p role="status">{t('common.loading')}</p> : <Login expired={auth === 'expired'} onIn={() => setAuth('in')} />}
        </div>
      </I18nContext.Provider>
    );
  }

  const current = PAGES.find((p) => p.id === page) ?? PAGES[0]!;
  return (
    <I18nContext.Provider value={i18n}>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        {t('app.skip')}
      </a>
      <header class="top">
        <button class="menu-button" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen(!menuOpen)}>
          {t('nav.menu')}
        </button>
        <span class="brand">kimi-proxy</span>
        <div class="top-actions">
          {langSwitch}
          <button class="secondary" onClick={logout}>
            {t('common.logout')}
          </button>
        </div>
      </header>
      <div class="layout">
        <nav id="nav" class={menuOpen ? 'open' : ''} aria-label={t('app.title')}>
          <ul>
            {PAGES.map((p) => (
              <li key={p.id}>
                <a href={`#/${p.id}`} aria-current={p.id === page ? 'page' : undefined}>
                  {t(p.label)}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" tabIndex={-1}>
          <h1>{t(current.label)}</h1>
          {current.view()}
        </main>
      </div>
    </I18nContext.Provider>
  );
}

render(<App />, document.getElementById('app')!);
