/**
 * Reads the persisted request log for the dashboard, newest first, page by page, down to a
 * time or an entry count (the log's own retention bounds both). Only admin calls read it;
 * the chat path never does.
 */
import type { RequestLogEntry, Store } from '../../store/store.js';

const PAGE = 500;

/** Entries logged at or after `since` (and before `before`), newest first, at most `max`. */
export async function scanRequestLog(
  store: Pick<Store, 'listRequestLog'>,
  opts: { since: number; before?: number; max: number; keep?: (e: RequestLogEntry) => boolean; want?: number },
): Promise<{ entries: RequestLogEntry[]; scanned: number; more: boolean }> {
  const out: RequestLogEntry[] = [];
  let before = opts.before;
  let scanned = 0;
  const want = opts.want ?? Infinity;
  while (scanned < opts.max) {
    const page = await store.listRequestLog({ limit: Math.min(PAGE, opts.max - scanned), ...(before !== undefined ? { before } : {}) });
    for (const e of page) {
      if (e.at < opts.since) return { entries: out, scanned, more: false };
      scanned++;
      if (opts.keep && !opts.keep(e)) continue;
      out.push(e);
      if (out.length >= want) return { entries: out, scanned, more: true };
    }
    if (page.length === 0) break;
    const last = page.at(-1)!;
    // The store pages by time: an entry sharing the page's last millisecond beyond the page is skipped.
    before = last.at;
    if (page.length < PAGE) break;
  }
  return { entries: out, scanned, more: scanned >= opts.max };
}

/** The q-th quantile (0…1) of `values` (nearest rank); undefined when empty. */
export function quantile(values: number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
