/** Dates and numbers in the dashboard's language. */
import type { Lang } from './i18n';

/** Dates and numbers in the chosen language. */
export function formatters(lang: Lang): { date(s: number | null | undefined): string; time(ms: number): string; num(n: number): string } {
  const locale = lang === 'zh' ? 'zh-CN' : 'en-GB';
  const dtf = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium' });
  const tf = new Intl.DateTimeFormat(locale, { timeStyle: 'medium' });
  const nf = new Intl.NumberFormat(locale);
  return {
    date: (s) => (s == null ? '—' : dtf.format(new Date(s * 1000))),
    time: (ms) => tf.format(new Date(ms)),
    num: (n) => nf.format(n),
  };
}
