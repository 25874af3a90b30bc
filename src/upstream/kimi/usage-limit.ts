/**
 * Recognises Kimi's "usage limit reached" answers — the one table of signals that turns an
 * upstream error into `quota_exhausted` (the account rests until the limit resets; see
 * core/error-policy.ts).
 *
 * What is known (kimi-protocol.md A.11, A.12, B.11, F.12): the envelopes — REST
 * `{"error_type","message"}` with an HTTP status, Connect `{"code","message","details":[{debug:{reason}}]}`
 * over HTTP or in the stream, and `exception.error.{reason, localizedMessage.message}` in the
 * stream — and that free accounts have limits (long-text rounds per few hours, a research
 * quota, a credit balance). What is NOT known: the exact code, reason or wording Kimi uses
 * when a limit is reached (spec F.12; Chat2API #30 could not detect it either). So the table
 * is tolerant: it reads only the documented fields and matches the words such a value would
 * carry. A bare `resource_exhausted` is the documented concurrency refusal ([U4]) and stays a
 * rate limit; anything naming a rate or frequency stays one too. Errors that match nothing
 * are logged once with their raw code (observability/pool-events.ts) so the table can grow.
 */

/** The documented fields of one upstream error, whichever envelope carried it. */
export interface UpstreamErrorFields {
  /** REST `error_type`, or the Connect `code`. */
  code?: string | undefined;
  /** Connect `details[0].debug.reason` or `exception.error.reason` (a `REASON_*` enum). */
  reason?: string | undefined;
  /** The human text: `message`, or `localizedMessage.message`. */
  message?: string | undefined;
}

export interface UsageLimitSignal {
  readonly field: keyof UpstreamErrorFields;
  readonly pattern: RegExp;
  /** Why this pattern means a spent usage limit. */
  readonly why: string;
}

export const USAGE_LIMIT_SIGNALS: readonly UsageLimitSignal[] = [
  {
    field: 'reason',
    pattern: /QUOTA|USAGE_?LIMIT|LIMIT_?(EXCEEDED|REACHED)|INSUFFICIENT|CREDIT|BALANCE/i,
    why: "a REASON_* enum naming a quota, usage limit or credit balance (the web app's enums name their cause)",
  },
  {
    field: 'code',
    pattern: /quota|usage[._]?limit|limit[._]?(exceeded|reached)|insufficient|credit|balance/i,
    why: 'a dotted REST error_type or Connect code naming a quota, usage limit or credit balance',
  },
  {
    field: 'message',
    pattern: /用量|额度|次数已用完|已达上限|达到上限|usage limit|quota|out of credits|insufficient (credit|balance)/i,
    why: "the web app's Chinese or English wording for a spent limit",
  },
];

/** Words of a passing limit (too fast, too many at once): never read as a spent quota. */
const RATE_WORDS = /rate|frequen|concurren|too many|频率|太快|并发/i;

/** The signal that says these fields are a usage-limit answer, if one does. */
export function usageLimitSignal(fields: UpstreamErrorFields, signals: readonly UsageLimitSignal[] = USAGE_LIMIT_SIGNALS): UsageLimitSignal | undefined {
  const all = [fields.code, fields.reason, fields.message].filter((v): v is string => typeof v === 'string');
  if (all.some((v) => RATE_WORDS.test(v))) return undefined;
  return signals.find((s) => {
    const value = fields[s.field];
    return typeof value === 'string' && s.pattern.test(value);
  });
}

export function isUsageLimit(fields: UpstreamErrorFields): boolean {
  return usageLimitSignal(fields) !== undefined;
}
