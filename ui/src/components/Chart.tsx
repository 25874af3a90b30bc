/**
 * A small SVG time chart: bars (the first series, with the second drawn over it, e.g.
 * requests and errors) or lines (p50 and p95). Its text alternative states the totals.
 */
import { useI18n } from '../i18n';

export interface Series {
  label: string;
  values: Array<number | null>;
  /** CSS class giving the colour (see styles.css). */
  tone: 'primary' | 'danger' | 'accent';
}

const W = 480;
const H = 170;
const PAD = { left: 40, right: 8, top: 12, bottom: 24 };

export function Chart({ title, kind, series, times, id }: { title: string; kind: 'bar' | 'line'; series: Series[]; times: string[]; id: string }) {
  const { t } = useI18n();
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const max = Math.max(1, ...all);
  const n = Math.max(1, series[0]?.values.length ?? 1);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (i * plotW) / n;
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;
  const band = plotW / n;
  const summary = series
    .map((s) => {
      const vals = s.values.filter((v): v is number => v !== null);
      const total = kind === 'bar' ? vals.reduce((a, b) => a + b, 0) : Math.round(Math.max(0, ...vals));
      return t('overview.chartSummary', { label: s.label, total, max: Math.round(Math.max(0, ...vals)) });
    })
    .join('; ');
  const total = series[0] ? series[0].values.reduce<number>((a, b) => a + (b ?? 0), 0) : 0;
  return (
    <figure class="chart">
      <figcaption id={`${id}-title`}>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${id}-title ${id}-desc`} data-total={total} data-testid={id}>
        <desc id={`${id}-desc`}>{summary}</desc>
        <line class="axis" x1={PAD.left} y1={PAD.top + plotH} x2={W - PAD.right} y2={PAD.top + plotH} />
        <line class="grid" x1={PAD.left} y1={PAD.top} x2={W - PAD.right} y2={PAD.top} />
        <text class="tick" x={PAD.left - 6} y={PAD.top + 4} text-anchor="end">
          {Math.round(max)}
        </text>
        <text class="tick" x={PAD.left - 6} y={PAD.top + plotH} text-anchor="end">
          0
        </text>
        {[0, Math.floor((times.length - 1) / 2), times.length - 1].map((i) =>
          times[i] ? (
            <text key={i} class="tick" x={x(i) + band / 2} y={H - 6} text-anchor={i === 0 ? 'start' : i === times.length - 1 ? 'end' : 'middle'}>
              {times[i]}
            </text>
          ) : null,
        )}
        {kind === 'bar'
          ? series.map((s, si) =>
              s.values.map((v, i) =>
                v ? <rect key={`${si}-${i}`} class={`tone-${s.tone}`} x={x(i) + band * 0.1} width={Math.max(1, band * 0.8)} y={y(v)} height={PAD.top + plotH - y(v)} /> : null,
              ),
            )
          : series.map((s) => {
              const points = s.values.map((v, i) => (v === null ? null : `${x(i) + band / 2},${y(v)}`)).filter(Boolean);
              // Dots as well: a window with one measured bucket still shows it.
              return (
                <g key={s.label} class={`tone-${s.tone}`}>
                  <polyline class={`line tone-${s.tone}`} points={points.join(' ')} />
                  {s.values.map((v, i) => (v === null ? null : <circle key={i} class={`dot tone-${s.tone}`} cx={x(i) + band / 2} cy={y(v)} r={2.5} />))}
                </g>
              );
            })}
      </svg>
      <ul class="legend">
        {series.map((s) => (
          <li key={s.label}>
            <span class={`swatch tone-${s.tone}`} aria-hidden="true" />
            {s.label}
          </li>
        ))}
      </ul>
    </figure>
  );
}
