/** Overview: usage over the last hour or day, per account and per key, accounts by state, requests running now. */
import { useState } from 'preact/hooks';
import { get } from '../api';
import { Chart } from '../components/Chart';
import { usePoll } from '../components/hooks';
import { Notice, errorText } from '../components/Notice';
import { Table } from '../components/Table';
import { formatters, useI18n, type TextKey } from '../i18n';

interface Tally {
  requests: number;
  errors: number;
  tokens: number;
  ttfb_p50_ms: number | null;
  ttfb_p95_ms: number | null;
}
interface Stats {
  window: 'hour' | 'day';
  truncated: boolean;
  totals: Tally;
  series: Array<Tally & { at: number }>;
  per_account: Array<Tally & { name: string }>;
  per_key: Array<Tally & { name: string }>;
  accounts_by_state: Record<string, number>;
  in_flight: { total: number; per_account: Array<{ name: string; in_flight: number }> };
}

const ms = (v: number | null): string => (v === null ? '—' : `${Math.round(v)} ms`);

function Breakdown({ title, rows }: { title: string; rows: Stats['per_account'] }) {
  const { t, lang } = useI18n();
  const f = formatters(lang);
  const max = Math.max(1, ...rows.map((r) => r.requests));
  return (
    <section class="card">
      <h2>{title}</h2>
      <Table
        columns={[t('common.name'), t('overview.requests'), t('overview.errors'), t('overview.ttfb50'), t('overview.ttfb95'), t('overview.tokens')]}
        rows={rows}
        empty={t('common.none')}
        card={false}
        rowKey={(r) => r.name}
        cells={(r) => (
          <>
            <th scope="row">{r.name}</th>
            <td>
              <span class="bar-cell">
                <meter min={0} max={max} value={r.requests} aria-hidden="true" />
                {f.num(r.requests)}
              </span>
            </td>
            <td class={r.errors > 0 ? 'danger-text' : ''}>{f.num(r.errors)}</td>
            <td>{ms(r.ttfb_p50_ms)}</td>
            <td>{ms(r.ttfb_p95_ms)}</td>
            <td>{f.num(r.tokens)}</td>
          </>
        )}
      />
    </section>
  );
}

export function Overview() {
  const { t, lang } = useI18n();
  const f = formatters(lang);
  const [window, setWindow] = useState<'hour' | 'day'>('hour');
  const stats = usePoll(() => get<Stats>(`/stats?window=${window}`), 3000, [window]);
  const s = stats.data;
  const times = s ? s.series.map((b) => (window === 'hour' ? f.time(b.at * 1000).slice(0, 5) : f.time(b.at * 1000).slice(0, 5))) : [];
  return (
    <div class="stack">
      <div class="toolbar" role="group" aria-label={t('overview.window')}>
        {(['hour', 'day'] as const).map((w) => (
          <button key={w} class={w === window ? '' : 'secondary'} aria-pressed={w === window} onClick={() => setWindow(w)}>
            {t(w === 'hour' ? 'overview.hour' : 'overview.day')}
          </button>
        ))}
        {stats.at ? <span class="muted live">{t('common.updated', { time: f.time(stats.at) })}</span> : null}
      </div>
      <Notice kind="error" text={stats.error ? errorText(stats.error) : undefined} />
      {!s ? (
        <p role="status">{t('common.loading')}</p>
      ) : (
        <>
          {s.truncated ? <Notice kind="error" text={t('overview.truncated')} /> : null}
          <dl class="tiles">
            {(
              [
                ['overview.requests', f.num(s.totals.requests), 'total-requests'],
                ['overview.errors', f.num(s.totals.errors), 'total-errors'],
                ['overview.ttfb50', ms(s.totals.ttfb_p50_ms), 'ttfb-p50'],
                ['overview.ttfb95', ms(s.totals.ttfb_p95_ms), 'ttfb-p95'],
                ['overview.tokens', f.num(s.totals.tokens), 'total-tokens'],
                ['overview.inFlight', t('overview.inFlightCount', { n: s.in_flight.total }), 'in-flight'],
              ] as Array<[TextKey, string, string]>
            ).map(([label, value, id]) => (
              <div class="tile" key={id}>
                <dt>{t(label)}</dt>
                <dd data-testid={id}>{value}</dd>
              </div>
            ))}
          </dl>
          <div class="grid-2">
            <section class="card">
              <Chart
                id="chart-requests"
                title={t('overview.chartRequests')}
                kind="bar"
                times={times}
                series={[
                  { label: t('overview.requests'), values: s.series.map((b) => b.requests), tone: 'primary' },
                  { label: t('overview.errors'), values: s.series.map((b) => b.errors), tone: 'danger' },
                ]}
              />
            </section>
            <section class="card">
              <Chart
                id="chart-ttfb"
                title={t('overview.chartTtfb')}
                kind="line"
                times={times}
                series={[
                  { label: 'p50', values: s.series.map((b) => b.ttfb_p50_ms), tone: 'primary' },
                  { label: 'p95', values: s.series.map((b) => b.ttfb_p95_ms), tone: 'accent' },
                ]}
              />
            </section>
            <section class="card">
              <Chart id="chart-tokens" title={t('overview.chartTokens')} kind="bar" times={times} series={[{ label: t('overview.tokens'), values: s.series.map((b) => b.tokens), tone: 'accent' }]} />
            </section>
            <section class="card">
              <h2>{t('overview.byState')}</h2>
              <ul class="states">
                {Object.entries(s.accounts_by_state).map(([state, n]) => (
                  <li key={state}>
                    <span class={`badge state-${state}`}>{t(`state.${state}` as TextKey)}</span> {n}
                  </li>
                ))}
              </ul>
              <h2>{t('overview.inFlight')}</h2>
              {s.in_flight.per_account.length === 0 ? (
                <p class="muted">{t('overview.inFlightCount', { n: 0 })}</p>
              ) : (
                <ul>
                  {s.in_flight.per_account.map((a) => (
                    <li key={a.name}>
                      {a.name}: {a.in_flight}
                    </li>
                  ))}
                </ul>
              )}
            </section>
          </div>
          <Breakdown title={t('overview.perAccount')} rows={s.per_account} />
          <Breakdown title={t('overview.perKey')} rows={s.per_key} />
        </>
      )}
    </div>
  );
}
