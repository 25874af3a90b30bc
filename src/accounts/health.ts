/**
 * Health of one account: rate-limit cooldown with backoff, a circuit breaker for upstream
 * failures (closed → open → half-open with exactly one probe), and the invalid/disabled
 * marks. Pure state: every decision takes `now` from the caller (the pool's clock).
 */

export type HealthState = 'healthy' | 'cooling' | 'refreshing' | 'invalid' | 'failing' | 'disabled';

/** Why an account is invalid (decides what can bring it back). */
export type InvalidCause = 'refresh-rejected' | 'access-rejected' | 'access-expired';

export interface HealthOptions {
  /** Consecutive upstream failures that open the circuit. */
  breakerThreshold: number;
  /** First open period; each reopening after a failed probe doubles it, up to breakerMaxCoolOffMs. */
  breakerCoolOffMs: number;
  breakerMaxCoolOffMs: number;
  /** Rate-limit backoff without Retry-After: base · 2^(n−1), up to max, plus up to 20 % jitter. */
  rateLimitBaseMs: number;
  rateLimitMaxMs: number;
  /** How long an account rests after Kimi's usage-limit answer when Kimi gives no reset time. */
  quotaCooldownMs: number;
  random: () => number;
}

/**
 * Why a cooling account rests beyond an ordinary rate limit: Kimi said its usage limit is
 * reached, or its own daily request budget (`dailyRequests`) is spent.
 */
export type RestReason = 'quota' | 'daily-budget';

/** Whether the account can take a request now, later (known time), after something in progress, or not at all. */
export type Availability =
  | { readonly kind: 'ready'; readonly probe: boolean }
  | { readonly kind: 'later'; readonly until: number; readonly rest?: RestReason }
  | { readonly kind: 'pending' }
  | { readonly kind: 'never'; readonly state: 'invalid' | 'disabled' };

// The answers without a time in them are shared: every request asks about every account.
const READY: Availability = { kind: 'ready', probe: false };
const READY_TO_PROBE: Availability = { kind: 'ready', probe: true };
const PENDING: Availability = { kind: 'pending' };
const DISABLED: Availability = { kind: 'never', state: 'disabled' };
const INVALID: Availability = { kind: 'never', state: 'invalid' };

/** Longest Retry-After honoured as given (anything longer is capped). */
const MAX_RETRY_AFTER_MS = 3_600_000;
const JITTER = 0.2;

export class AccountHealth {
  disabled: boolean;
  invalid: { cause: InvalidCause; reason: string } | undefined;
  lastError: string | undefined;

  cooldownUntil = 0;
  private rateStrikes = 0;
  /** The current cooldown is a rest (usage limit, daily budget) lasting until `until`. */
  private resting: { until: number; reason: RestReason } | undefined;

  private consecutiveFailures = 0;
  /** 0 = circuit closed; otherwise the end of the open period (half-open after it). */
  private openUntil = 0;
  private opens = 0;
  /** The half-open probe has been handed out and has not finished yet. */
  probeInFlight = false;

  /** 401s answered since the last success; a second one means fresh tokens are refused too. */
  authFailures = 0;

  constructor(
    private readonly opts: HealthOptions,
    disabled = false,
  ) {
    this.disabled = disabled;
  }

  get breakerOpenUntil(): number | undefined {
    return this.openUntil === 0 ? undefined : this.openUntil;
  }

  /** Openings of the circuit in a row (the cool-off backoff); 0 while closed. */
  get openCount(): number {
    return this.opens;
  }

  /** Takes the circuit state agreed across instances: open until `until` after `opens` openings, or closed. */
  setCircuit(open: { until: number; opens: number } | undefined): void {
    if (open) {
      this.openUntil = open.until;
      this.opens = open.opens;
    } else if (this.openUntil !== 0) {
      this.openUntil = 0;
      this.opens = 0;
      this.consecutiveFailures = 0;
    }
  }

  isHalfOpen(now: number): boolean {
    return this.openUntil !== 0 && now >= this.openUntil;
  }

  availability(now: number, refreshing: boolean): Availability {
    if (this.disabled) return DISABLED;
    if (this.invalid) return INVALID;
    if (this.openUntil !== 0 && now < this.openUntil) return { kind: 'later', until: Math.max(this.openUntil, this.cooldownUntil) };
    if (now < this.cooldownUntil) {
      const rest = this.restReason(now);
      return rest ? { kind: 'later', until: this.cooldownUntil, rest } : { kind: 'later', until: this.cooldownUntil };
    }
    if (refreshing) return PENDING;
    if (this.isHalfOpen(now)) return this.probeInFlight ? PENDING : READY_TO_PROBE;
    return READY;
  }

  state(now: number, refreshing: boolean): HealthState {
    if (this.disabled) return 'disabled';
    if (this.invalid) return 'invalid';
    if (this.openUntil !== 0) return 'failing';
    if (now < this.cooldownUntil) return 'cooling';
    if (refreshing) return 'refreshing';
    return 'healthy';
  }

  /** When the account can be tried again (cooling or open circuit). */
  blockedUntil(now: number): number | undefined {
    const until = Math.max(this.cooldownUntil, this.openUntil);
    return until > now ? until : undefined;
  }

  /** Ends a rest for this reason (a raised or removed daily budget); other cooldowns stay. */
  endRest(reason: RestReason): void {
    if (this.resting?.reason !== reason) return;
    if (this.cooldownUntil === this.resting.until) this.cooldownUntil = 0;
    this.resting = undefined;
  }

  /** Why the account rests now, when its cooldown is a rest. */
  restReason(now: number): RestReason | undefined {
    return this.resting && now < this.resting.until && now < this.cooldownUntil ? this.resting.reason : undefined;
  }

  /**
   * Kimi's usage limit is reached, or the daily budget is spent: the account rests until
   * `until` (the limit's reset time when known). Unlike a rate limit this is not capped at
   * an hour and does not grow the backoff.
   */
  rest(now: number, until: number, reason: RestReason): number {
    if (until <= now) return this.cooldownUntil;
    this.cooldownUntil = Math.max(this.cooldownUntil, until);
    this.resting = { until: this.cooldownUntil, reason };
    return this.cooldownUntil;
  }

  onSuccess(now: number): void {
    this.consecutiveFailures = 0;
    this.openUntil = 0;
    this.opens = 0;
    this.authFailures = 0;
    if (now >= this.cooldownUntil) this.rateStrikes = 0;
  }

  /** 429 / resource_exhausted. Returns the cooldown end. */
  onRateLimited(now: number, retryAfterMs: number | undefined): number {
    // Parallel requests hit by the same limit count once.
    if (now >= this.cooldownUntil) this.rateStrikes += 1;
    const delay =
      retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0
        ? Math.min(retryAfterMs, MAX_RETRY_AFTER_MS)
        : this.backoff(Math.max(1, this.rateStrikes));
    this.cooldownUntil = Math.max(this.cooldownUntil, now + delay);
    return this.cooldownUntil;
  }

  backoff(strike: number): number {
    const { rateLimitBaseMs: base, rateLimitMaxMs: max } = this.opts;
    const raw = Math.min(max, base * 2 ** Math.min(strike - 1, 30));
    return Math.min(max, Math.round(raw * (1 + JITTER * this.opts.random())));
  }

  /**
   * 5xx / network / timeout. `probe`: the request was the half-open probe. Failures of
   * requests that started before the circuit opened do not move it. Returns true when the
   * circuit (re)opened.
   */
  onFailure(now: number, probe: boolean): boolean {
    if (this.openUntil !== 0) {
      if (!probe || now < this.openUntil) return false;
      this.opens += 1;
      this.openUntil = now + this.coolOff();
      return true;
    }
    this.consecutiveFailures += 1;
    if (this.consecutiveFailures < this.opts.breakerThreshold) return false;
    this.opens = 1;
    this.openUntil = now + this.coolOff();
    return true;
  }

  private coolOff(): number {
    return Math.min(this.opts.breakerMaxCoolOffMs, this.opts.breakerCoolOffMs * 2 ** Math.min(this.opens - 1, 30));
  }

  markInvalid(cause: InvalidCause, reason: string): void {
    this.invalid = { cause, reason };
    this.lastError = reason;
  }

  clearInvalid(): void {
    this.invalid = undefined;
    this.authFailures = 0;
  }
}
