/** The request log: filters, pages of entries, details of one. */
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { get, query } from '../api';
import { Dialog } from '../components/Dialog';
import { usePoll } from '../components/hooks';
import { Notice, errorText } from '../components/Notice';
import { Table } from '../components/Table';
import { formatters, useI18n, type TextKey } from '../i18n';
import type { RequestLogView } from '../../../src/core/request-log-entry';

/** One entry as /admin/api/requests answers it (one definition for the server and the dashboard). */
type Entry = RequestLogView;

const EMPTY = { key: '', account: '', model: '', status: '', error_code: '', since: '' };
type Filters = typeof EMPTY;

function params(f: Filters, before?: number): string {
  return query({
    limit: 50,
    key: f.key.trim(),
    account: f.account.trim(),
    model: f.model.trim(),
    status: f.status.trim(),
    error_code: f.error_code.trim(),
    since: f.since ? new Date(f.since).getTime() : undefined,
    before,
  });
}

const DETAIL_FIELDS: Array<[keyof Entry, TextKey | string]> = [
  ['request_id', 'ID'],
  ['status', 'common.status'],
  ['model', 'common.model'],
  ['key_name', 'common.key'],
  ['account_name', 'common.account'],
  ['protocol', 'protocol'],
  ['stream', 'stream'],
  ['conversation_id', 'conversation'],
  ['ttfb_ms', 'log.ttfb'],
  ['duration_ms', 'log.duration'],
  ['prompt_tokens', 'prompt tokens'],
  ['completion_tokens', 'completion tokens'],
  ['error_code', 'log.errorCode'],
  ['upstream_code', 'upstream code'],
  ['auxiliary', 'log.auxiliary'],
];

export function Requests() {
  const { t, lang } = useI18n();
  const fmt = formatters(lang);
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [older, setOlder] = useState<Entry[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [detail, setDetail] = useState<Entry>();
  const [error, setError] = useState<string>();
  const page = usePoll(
    async () => {
      const res = await get<{ data: Entry[]; next_before: number | null }>(`/requests${params(filters)}`);
      return res;
    },
    5000,
    [filters],
  );
  const entries = [...(page.data?.data ?? []), ...older];
  const nextBefore = older.length > 0 ? next : (page.data?.next_before ?? null);
  const set = (k: keyof Filters) => (e: Event) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value });
  const loadOlder = async () => {
    if (nextBefore === null) return;
    try {
      const res = await get<{ data: Entry[]; next_before: number | null }>(`/requests${params(filters, nextBefore)}`);
      setOlder([...older, ...res.data]);
      setNext(res.next_before);
    } catch (err) {
      setError(errorText(err));
    }
  };
  const label = (k: TextKey | string) => (k.includes('.') ? t(k as TextKey) : k);

  return (
    <div class="stack">
      <form
        class="card filters"
        aria-label={t('log.filters')}
        onSubmit={(e) => {
          e.preventDefault();
          setOlder([]);
          setFilters(draft);
        }}
      >
        {(
          [
            ['key', 'common.key'],
            ['account', 'common.account'],
            ['model', 'common.model'],
            ['status', 'common.status'],
            ['error_code', 'log.errorCode'],
          ] as Array<[keyof Filters, TextKey]>
        ).map(([k, l]) => (
          <div key={k}>
            <label for={`f-${k}`}>{t(l)}</label>
            <input id={`f-${k}`} value={draft[k]} onInput={set(k)} placeholder={k === 'status' ? t('log.statusHint') : ''} />
          </div>
        ))}
        <div>
          <label for="f-since">{t('log.since')}</label>
          <input id="f-since" type="datetime-local" value={draft.since} onInput={set('since')} />
        </div>
        <div class="toolbar">
          <button type="submit">{t('common.apply')}</button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setDraft(EMPTY);
              setOlder([]);
              setFilters(EMPTY);
            }}
          >
            {t('common.reset')}
          </button>
        </div>
      </form>
      <Notice kind="error" text={error ?? (page.error ? errorText(page.error) : undefined)} />
      <Table
        testId="request-log"
        columns={[
          t('common.time'),
          t('common.status'),
          t('common.model'),
          t('common.key'),
          t('common.account'),
          t('log.ttfb'),
          t('log.duration'),
          t('log.tokens'),
          t('log.error'),
          t('log.details'),
        ]}
        rows={page.data ? entries : undefined}
        empty={t('log.empty')}
        rowKey={(e) => e.id}
        rowData={(e) => ({ 'data-request': e.request_id, 'data-failed-attempts': e.failed_attempts.length })}
        cells={(e) => (
          <>
            <td>{fmt.date(Math.floor(e.at / 1000))}</td>
            <td class={e.status >= 400 ? 'danger-text' : ''}>{e.status}</td>
            <td>
              {e.model ?? '—'}
              {e.auxiliary ? (
                <span class="badge" title={t('log.auxiliary')} data-testid="auxiliary">
                  {' '}
                  {e.auxiliary}
                </span>
              ) : null}
            </td>
            <td>{e.key_name ?? '—'}</td>
            <td>
              {e.account_name ?? '—'}
              {e.failed_attempts.length > 0 ? (
                <span class="badge" title={t('log.attempts')}>
                  {' '}
                  +{e.failed_attempts.length}
                </span>
              ) : null}
            </td>
            <td>{e.ttfb_ms === null ? '—' : `${e.ttfb_ms} ms`}</td>
            <td>{e.duration_ms} ms</td>
            <td>{e.prompt_tokens === null ? '—' : `${e.prompt_tokens} + ${e.completion_tokens ?? 0}`}</td>
            <td>{e.error_code ?? ''}</td>
            <td>
              <button class="secondary" onClick={() => setDetail(e)} aria-label={`${t('log.details')} ${e.request_id}`}>
                {t('log.details')}
              </button>
            </td>
          </>
        )}
      />
      {nextBefore !== null ? (
        <button class="secondary" onClick={loadOlder}>
          {t('log.more')}
        </button>
      ) : null}
      {detail ? (
        <Dialog title={t('log.detailTitle', { id: detail.request_id })} onClose={() => setDetail(undefined)}>
          <dl class="facts">
            <dt>{t('common.time')}</dt>
            <dd>{new Date(detail.at).toISOString()}</dd>
            {DETAIL_FIELDS.map(([k, l]) => (
              <Fragment key={k}>
                <dt>{label(l)}</dt>
                <dd>{detail[k] === null ? '—' : String(detail[k])}</dd>
              </Fragment>
            ))}
          </dl>
          <h3>{t('log.attempts')}</h3>
          {detail.failed_attempts.length === 0 ? (
            <p>{t('log.attemptsNone')}</p>
          ) : (
            <ol class="attempts">
              {detail.failed_attempts.map((a, i) => (
                <li key={i}>
                  <strong>{a.account ?? t('log.noAccount')}</strong>: <code>{a.code}</code> → {t(`log.next.${a.next}`)}
                </li>
              ))}
            </ol>
          )}
        </Dialog>
      ) : null}
    </div>
  );
}
