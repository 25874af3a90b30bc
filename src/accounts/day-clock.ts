/**
 * Calendar days in a configured time zone (DAILY_BUDGET_TIMEZONE): the key of today's
 * request counter, and when the next day starts. Uses the runtime's IANA zone data (Intl),
 * so daylight-saving days are 23 or 25 hours long as they should be.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when the runtime knows the zone (`UTC`, `Asia/Shanghai`, …). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

interface LocalTime {
  year: number;
  month: number;
  day: number;
  /** The wall-clock time read as if it were UTC, in ms (seconds precision). */
  asUtc: number;
}

function local(at: number, timeZone: string): LocalTime {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(at))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const { year, month, day, hour, minute, second } = parts as Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', number>;
  return { year, month, day, asUtc: Date.UTC(year, month - 1, day, hour, minute, second) };
}

/** `YYYY-MM-DD` of the day `at` falls on in the zone. */
export function dayKey(at: number, timeZone: string): string {
  const l = local(at, timeZone);
  return `${l.year}-${String(l.month).padStart(2, '0')}-${String(l.day).padStart(2, '0')}`;
}

/** The instant the day after the one `at` falls on begins in the zone. */
export function nextDayStart(at: number, timeZone: string): number {
  const l = local(at, timeZone);
  const midnight = Date.UTC(l.year, l.month - 1, l.day + 1);
  const offsetAt = (t: number): number => local(t, timeZone).asUtc - Math.floor(t / 1000) * 1000;
  // Wall-clock midnight minus the zone's offset; the offset is read again at the result in case it changed overnight.
  const guess = midnight - offsetAt(at);
  return midnight - offsetAt(guess);
}
