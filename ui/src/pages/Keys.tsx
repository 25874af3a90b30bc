/** API keys: create (shown once, with a copy button), limits, usage, revoke. */
import { useState } from 'preact/hooks';
import { del, get, post } from '../api';
import { Confirm } from '../components/Confirm';
import { Dialog } from '../components/Dialog';
import { usePoll } from '../components/hooks';
import { Notice, errorText } from '../components/Notice';
import { Table } from '../components/Table';
import { formatters, useI18n, type TextKey } from '../i18n';
import { rememberKey } from '../session-keys';

interface Key {
  id: string;
  name: string;
  source: 'admin' | 'env';
  prefix: string;
  status: 'active' | 'expired' | 'revoked';
  expires_at?: number | null;
  allowed_models?: string[] | null;
  rate_limit_per_minute?: number | null;
  max_concurrent_streams?: number | null;
  usage: { requests: number; prompt_tokens: number; completion_tokens: number; last_used_at: number | null };
}

function Created({ created, onClose }: { created: { name: string; key: string }; onClose: () => void }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied(true);
    } catch {
      // Clipboard refused (not a secure context): the key stays selectable.
      (document.getElementById('created-key') as HTMLInputElement | null)?.select();
    }
  };
  return (
    <Dialog title={`${t('keys.createdTitle')}: ${created.name}`} onClose={onClose}>
      <p class="notice ok">{t('keys.createdHint')}</p>
      <label for="created-key">{t('common.key')}</label>
      <div class="toolbar">
        <input id="created-key" readOnly value={created.key} class="mono grow" onFocus={(e) => e.currentTarget.select()} />
        <button onClick={copy}>{copied ? t('keys.copied') : t('keys.copy')}</button>
      </div>
      <p role="status" class="visually-hidden">
        {copied ? t('keys.copied') : ''}
      </p>
    </Dialog>
  );
}

export function Keys() {
  const { t, lang } = useI18n();
  const f = formatters(lang);
  const keys = usePoll(() => get<{ data: Key[] }>('/keys'), 5000);
  const [form, setForm] = useState({ name: '', days: '', models: '', rate: '', streams: '' });
  const [created, setCreated] = useState<{ name: string; key: string }>();
  const [revoking, setRevoking] = useState<Key>();
  const [error, setError] = useState<string>();
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });

  const create = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    const models = form.models
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean);
    try {
      const res = await post<{ name: string; key: string }>('/keys', {
        name: form.name.trim(),
        ...(form.days ? { expires_in: Math.round(Number(form.days) * 86_400) } : {}),
        ...(models.length ? { allowed_models: models } : {}),
        ...(form.rate ? { rate_limit_per_minute: Number(form.rate) } : {}),
        ...(form.streams ? { max_concurrent_streams: Number(form.streams) } : {}),
      });
      rememberKey(res.name, res.key);
      setCreated({ name: res.name, key: res.key });
      setForm({ name: '', days: '', models: '', rate: '', streams: '' });
      await keys.reload();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const revoke = async (k: Key) => {
    try {
      await del(`/keys/${encodeURIComponent(k.id)}`);
    } catch (err) {
      setError(errorText(err));
    }
    await keys.reload();
  };

  return (
    <div class="stack">
      <form class="card form-grid" onSubmit={create}>
        <h2>{t('keys.create')}</h2>
        <label for="key-name">{t('common.name')}</label>
        <input id="key-name" required maxLength={100} value={form.name} onInput={set('name')} />
        <label for="key-days">{t('keys.expiresDays')}</label>
        <input id="key-days" type="number" min="1" max="3650" value={form.days} onInput={set('days')} />
        <label for="key-models">{t('keys.models')}</label>
        <input id="key-models" value={form.models} onInput={set('models')} />
        <label for="key-rate">{t('keys.rate')}</label>
        <input id="key-rate" type="number" min="1" value={form.rate} onInput={set('rate')} />
        <label for="key-streams">{t('keys.streams')}</label>
        <input id="key-streams" type="number" min="1" value={form.streams} onInput={set('streams')} />
        <Notice kind="error" text={error} />
        <div>
          <button type="submit">{t('keys.create')}</button>
        </div>
      </form>
      <Table
        columns={[t('common.name'), t('keys.prefix'), t('common.status'), t('keys.limits'), t('keys.usage'), t('keys.lastUsed'), t('keys.expires'), t('common.actions')]}
        rows={keys.data?.data}
        rowKey={(k) => k.id}
        rowData={(k) => ({ 'data-key': k.name })}
        cells={(k) => (
          <>
            <th scope="row">{k.name}</th>
            <td>
              <code>{k.prefix}…</code>
            </td>
            <td>
              <span class={`badge key-${k.status}`} data-testid="key-status">
                {t(`keys.status.${k.status}` as TextKey)}
              </span>
              {k.source === 'env' ? <span class="muted"> {t('keys.fromEnv')}</span> : null}
            </td>
            <td>
              {[
                k.allowed_models?.length ? k.allowed_models.join(', ') : t('keys.allModels'),
                k.rate_limit_per_minute ? t('keys.perMinute', { n: k.rate_limit_per_minute }) : '',
                k.max_concurrent_streams ? t('keys.streamsLimit', { n: k.max_concurrent_streams }) : '',
              ]
                .filter(Boolean)
                .join(' · ')}
            </td>
            <td>{t('keys.usageLine', { requests: f.num(k.usage.requests), tokens: f.num(k.usage.prompt_tokens + k.usage.completion_tokens) })}</td>
            <td>{k.usage.last_used_at ? f.date(k.usage.last_used_at) : t('common.never')}</td>
            <td>{k.expires_at ? f.date(k.expires_at) : t('common.none')}</td>
            <td>
              {k.source === 'admin' && k.status !== 'revoked' ? (
                <button class="danger" onClick={() => setRevoking(k)}>
                  {t('keys.revoke')}
                </button>
              ) : null}
            </td>
          </>
        )}
      />
      {created ? <Created created={created} onClose={() => setCreated(undefined)} /> : null}
      {revoking ? <Confirm text={t('keys.revokeConfirm', { name: revoking.name })} action={t('keys.revoke')} onYes={() => void revoke(revoking)} onClose={() => setRevoking(undefined)} /> : null}
    </div>
  );
}
