/** Conversations: list, search by id, the transcript as plain text, delete. */
import { useState } from 'preact/hooks';
import { del, get } from '../api';
import { Confirm } from '../components/Confirm';
import { Dialog } from '../components/Dialog';
import { usePoll } from '../components/hooks';
import { Notice, errorText } from '../components/Notice';
import { Table } from '../components/Table';
import { formatters, useI18n, type TextKey } from '../i18n';

interface Conversation {
  id: string;
  owner: string;
  owner_name: string | null;
  model: string;
  message_count: number;
  updated_at: number;
  messages?: Array<{ role: string; content: string }>;
}

const path = (c: Pick<Conversation, 'id' | 'owner'>) => `/conversations/${encodeURIComponent(c.id)}?owner=${encodeURIComponent(c.owner)}`;

export function Conversations() {
  const { t, lang } = useI18n();
  const f = formatters(lang);
  const list = usePoll(() => get<{ data: Conversation[] }>('/conversations?limit=100'), 10_000);
  const [search, setSearch] = useState('');
  const [open, setOpen] = useState<Conversation>();
  const [deleting, setDeleting] = useState<Conversation>();
  const [error, setError] = useState<string>();

  const show = async (c: Pick<Conversation, 'id' | 'owner'> | string) => {
    setError(undefined);
    try {
      setOpen(await get<Conversation>(typeof c === 'string' ? `/conversations/${encodeURIComponent(c)}` : path(c)));
    } catch (err) {
      setError(errorText(err));
    }
  };
  const remove = async (c: Conversation) => {
    try {
      await del(path(c));
      setOpen(undefined);
    } catch (err) {
      setError(errorText(err));
    }
    await list.reload();
  };

  return (
    <div class="stack">
      <form
        class="card toolbar wrap"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          if (search.trim()) void show(search.trim());
        }}
      >
        <label for="conv-search">{t('conv.search')}</label>
        <input id="conv-search" class="grow" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        <button type="submit">{t('conv.find')}</button>
      </form>
      <Notice kind="error" text={error} />
      <Table
        columns={['ID', t('conv.owner'), t('common.model'), t('conv.messages'), t('common.time'), t('common.actions')]}
        rows={list.data?.data}
        empty={t('conv.empty')}
        rowKey={(c) => `${c.owner}/${c.id}`}
        cells={(c) => (
          <>
            <th scope="row">
              <code>{c.id}</code>
            </th>
            <td>{c.owner_name ?? c.owner}</td>
            <td>{c.model}</td>
            <td>{c.message_count}</td>
            <td>{f.date(c.updated_at)}</td>
            <td class="toolbar">
              <button class="secondary" onClick={() => void show(c)}>
                {t('conv.open')}
              </button>
              <button class="danger" onClick={() => setDeleting(c)}>
                {t('common.delete')}
              </button>
            </td>
          </>
        )}
      />
      {open ? (
        <Dialog title={t('conv.transcript', { id: open.id })} onClose={() => setOpen(undefined)}>
          {/* Messages are text: rendered as text nodes, never as HTML or markdown. */}
          <ol class="transcript" data-testid="transcript">
            {(open.messages ?? []).map((m, i) => (
              <li key={i} class={`msg role-${m.role}`}>
                <span class="role">{t(`conv.role.${m.role}` as TextKey)}</span>
                <pre class="text">{m.content}</pre>
              </li>
            ))}
          </ol>
          <button class="danger" onClick={() => setDeleting(open)}>
            {t('common.delete')}
          </button>
        </Dialog>
      ) : null}
      {deleting ? (
        <Confirm text={t('conv.deleteConfirm', { id: deleting.id })} action={t('common.delete')} onYes={() => void remove(deleting)} onClose={() => setDeleting(undefined)} />
      ) : null}
    </div>
  );
}
