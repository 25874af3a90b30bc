/** Accounts: state (live), token, quota, and every action on them. */
import { useState } from 'preact/hooks';
import { del, get, patch, post } from '../api';
import { Confirm } from '../components/Confirm';
import { Dialog } from '../components/Dialog';
import { useNow, usePoll } from '../components/hooks';
import { Notice, errorText } from '../components/Notice';
import { formatters, useI18n, type TextKey } from '../i18n';
import { AddAccount } from './AddAccount';

export interface Account {
  id: string;
  name: string;
  source: 'config' | 'admin';
  masked_token: string;
  token_kind: string;
  state: string;
  expires_at: number | null;
  cooldown_until: number | null;
  in_flight: number;
  requests: number;
  last_error: string | null;
  weight: number | null;
  max_concurrent: number | null;
  min_interval_ms: number | null;
  /** Requests per day before the account rests until the next day; null: no budget. */
  daily_requests: number | null;
  daily_used: number | null;
  /** Why a cooling account rests: Kimi's usage limit, or its daily budget. */
  rest_reason: 'quota' | 'daily-budget' | null;
  quota: null | { error?: string; used_ratio?: number | null; used?: number | null; total?: number | null; checked_at: number };
}

function countdown(untilS: number, now: number): string {
  const left = Math.max(0, Math.round(untilS - now / 1000));
  const m = Math.floor(left / 60);
  const s = left % 60;
  return m > 0 ? `${m}:${String(s).padStart(2, '0')}` : `${s}s`;
}

interface DialogProps {
  account: Account;
  onDone: (msg: string) => void;
  onClose: () => void;
}

/** A dialog's form submission: on success the page is told and the dialog closes; a failure is shown in the dialog. */
function useDialogSubmit(send: () => Promise<unknown>, { onDone, onClose }: Pick<DialogProps, 'onDone' | 'onClose'>) {
  const { t } = useI18n();
  const [error, setError] = useState<string>();
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await send();
      onDone(t('common.done'));
      onClose();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return { error, submit };
}

function Limits({ account, onDone, onClose }: DialogProps) {
  const { t } = useI18n();
  const [weight, setWeight] = useState(String(account.weight ?? 1));
  const [maxC, setMaxC] = useState(String(account.max_concurrent ?? 2));
  const [minI, setMinI] = useState(String(account.min_interval_ms ?? 0));
  const [daily, setDaily] = useState(String(account.daily_requests ?? 0));
  const { error, submit } = useDialogSubmit(
    () => patch(`/accounts/${encodeURIComponent(account.id)}`, { weight: Number(weight), max_concurrent: Number(maxC), min_interval_ms: Number(minI), daily_requests: Number(daily) }),
    { onDone, onClose },
  );
  return (
    <Dialog title={`${t('accounts.edit')}: ${account.name}`} onClose={onClose}>
      <form class="stack" onSubmit={submit}>
        <label for="acc-weight">{t('accounts.weight')}</label>
        <input id="acc-weight" type="number" min="0.01" max="1000" step="any" required value={weight} onInput={(e) => setWeight(e.currentTarget.value)} />
        <label for="acc-max">{t('accounts.maxConcurrent')}</label>
        <input id="acc-max" type="number" min="1" max="64" required value={maxC} onInput={(e) => setMaxC(e.currentTarget.value)} />
        <label for="acc-min">{t('accounts.minInterval')}</label>
        <input id="acc-min" type="number" min="0" max="600000" required value={minI} onInput={(e) => setMinI(e.currentTarget.value)} />
        <label for="acc-daily">{t('accounts.dailyRequests')}</label>
        <input id="acc-daily" type="number" min="0" max="1000000" required value={daily} onInput={(e) => setDaily(e.currentTarget.value)} />
        <Notice kind="error" text={error} />
        <div>
          <button type="submit">{t('common.save')}</button>
        </div>
      </form>
    </Dialog>
  );
}

function ReplaceToken({ account, onDone, onClose }: DialogProps) {
  const { t } = useI18n();
  const [text, setText] = useState('');
  const { error, submit } = useDialogSubmit(() => post(`/accounts/${encodeURIComponent(account.id)}/token`, { text }), { onDone, onClose });
  return (
    <Dialog title={`${t('accounts.replace')}: ${account.name}`} onClose={onClose}>
      <form class="stack" onSubmit={submit}>
        <label for="acc-token">{t('accounts.paste')}</label>
        <textarea id="acc-token" rows={4} spellcheck={false} required value={text} onInput={(e) => setText(e.currentTarget.value)} />
        <Notice kind="error" text={error} />
        <div>
          <button type="submit">{t('accounts.replace')}</button>
        </div>
      </form>
    </Dialog>
  );
}

function Quota({ q }: { q: Account['quota'] }) {
  const { t } = useI18n();
  if (!q) return <span class="muted">{t('accounts.quotaUnknown')}</span>;
  if (q.error) return <span class="muted">{t('accounts.quotaError', { code: q.error })}</span>;
  if (typeof q.used_ratio === 'number') {
    const pct = Math.round(q.used_ratio * 1000) / 10;
    return (
      <span class="bar-cell">
        <meter min={0} max={100} low={70} high={90} optimum={0} value={pct} aria-label={t('accounts.quota')} />
        {t('accounts.quotaUsed', { pct })}
      </span>
    );
  }
  if (typeof q.used === 'number' && typeof q.total === 'number') return <span>{t('accounts.quotaCount', { used: q.used, total: q.total })}</span>;
  return <span class="muted">{t('accounts.quotaUnknown')}</span>;
}

export function Accounts() {
  const { t, lang } = useI18n();
  const f = formatters(lang);
  const now = useNow();
  const accounts = usePoll(() => get<{ data: Account[] }>('/accounts'), 2000);
  const day = usePoll(() => get<{ per_account: Array<{ name: string; requests: number }> }>('/stats?window=day'), 10_000);
  const [dialog, setDialog] = useState<{ kind: 'limits' | 'token' | 'remove'; account: Account }>();
  const [ok, setOk] = useState<string>();
  const [error, setError] = useState<string>();

  const act = async (fn: () => Promise<unknown>, done?: string) => {
    setOk(undefined);
    setError(undefined);
    try {
      await fn();
      setOk(done ?? t('common.done'));
    } catch (err) {
      setError(errorText(err));
    }
    await accounts.reload();
  };
  const recheck = (a: Account) =>
    act(async () => {
      const res = await post<{ ok: boolean }>(`/accounts/${encodeURIComponent(a.id)}/recheck`);
      if (!res.ok) throw new Error(t('accounts.recheckFailed', { name: a.name }));
    }, t('accounts.recheckOk', { name: a.name }));
  const today = new Map((day.data?.per_account ?? []).map((r) => [r.name, r.requests]));

  return (
    <div class="stack">
      <Notice kind="error" text={error ?? (accounts.error ? errorText(accounts.error) : undefined)} />
      <Notice kind="ok" text={ok} />
      {!accounts.data ? (
        <p role="status">{t('common.loading')}</p>
      ) : (
        <ul class="cards" aria-live="polite">
          {accounts.data.data.map((a) => (
            <li class="card account" key={a.id} data-account={a.name}>
              <div class="account-head">
                <h2>{a.name}</h2>
                <span class={`badge state-${a.state}`} data-testid="state">
                  {t(`state.${a.state}` as TextKey)}
                  {a.state === 'cooling' && a.cooldown_until ? ` ${t('accounts.coolsFor', { time: countdown(a.cooldown_until, now) })}` : ''}
                </span>
                {a.rest_reason ? (
                  <span class="badge" data-testid="rest-reason">
                    {t(`accounts.rest.${a.rest_reason}` as TextKey)}
                  </span>
                ) : null}
              </div>
              <dl class="facts">
                <dt>{t('accounts.token')}</dt>
                <dd>
                  {t(`kind.${a.token_kind}` as TextKey)} <code>{a.masked_token}</code> <span class="muted">({t(`accounts.source.${a.source}` as TextKey)})</span>
                </dd>
                <dt>{t('accounts.expires')}</dt>
                <dd>{f.date(a.expires_at)}</dd>
                <dt>{t('accounts.lastError')}</dt>
                <dd data-testid="last-error" class={a.last_error ? 'danger-text' : 'muted'}>
                  {a.last_error ?? t('common.none')}
                </dd>
                <dt>{t('accounts.inFlight')}</dt>
                <dd>{a.in_flight}</dd>
                <dt>{t('accounts.today')}</dt>
                <dd>{f.num(today.get(a.name) ?? 0)}</dd>
                <dt>{t('accounts.quota')}</dt>
                <dd>
                  <Quota q={a.quota} />
                </dd>
                <dt>{t('accounts.weight')}</dt>
                <dd>
                  {a.weight} · {t('accounts.maxConcurrent')} {a.max_concurrent} · {a.min_interval_ms} ms
                </dd>
                <dt>{t('accounts.dailyBudget')}</dt>
                <dd data-testid="daily">{a.daily_requests ? t('accounts.dailyUsed', { used: a.daily_used ?? 0, budget: a.daily_requests }) : t('common.none')}</dd>
              </dl>
              <div class="toolbar wrap">
                <button class="secondary" onClick={() => recheck(a)}>
                  {t('accounts.recheck')}
                </button>
                {a.state === 'disabled' ? (
                  <button class="secondary" onClick={() => act(() => post(`/accounts/${encodeURIComponent(a.id)}/enable`))}>
                    {t('accounts.enable')}
                  </button>
                ) : (
                  <button class="secondary" onClick={() => act(() => post(`/accounts/${encodeURIComponent(a.id)}/disable`))}>
                    {t('accounts.disable')}
                  </button>
                )}
                <button class="secondary" onClick={() => setDialog({ kind: 'limits', account: a })}>
                  {t('accounts.edit')}
                </button>
                <button class="secondary" onClick={() => setDialog({ kind: 'token', account: a })}>
                  {t('accounts.replace')}
                </button>
                <button class="danger" onClick={() => setDialog({ kind: 'remove', account: a })}>
                  {t('accounts.remove')}
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      <AddAccount onAdded={() => void accounts.reload()} />
      {dialog?.kind === 'limits' ? <Limits account={dialog.account} onDone={(m) => act(async () => undefined, m)} onClose={() => setDialog(undefined)} /> : null}
      {dialog?.kind === 'token' ? <ReplaceToken account={dialog.account} onDone={(m) => act(async () => undefined, m)} onClose={() => setDialog(undefined)} /> : null}
      {dialog?.kind === 'remove' ? (
        <Confirm
          text={t('accounts.removeConfirm', { name: dialog.account.name })}
          action={t('accounts.remove')}
          onYes={() => act(() => del(`/accounts/${encodeURIComponent(dialog.account.id)}`))}
          onClose={() => setDialog(undefined)}
        />
      ) : null}
    </div>
  );
}
