/**
 * Admission to one account: its concurrency slots in the store (renewed while held), the
 * half-open circuit's single probe (one per cluster when health is shared), the spacing
 * between request starts, and the counters of what it admitted. Owned by the account's
 * runtime (account-runtime.ts), which leases hand their credentials, reports and release to.
 */
import { HeldSlot } from '../store/held-slot.js';
import { dayKey, nextDayStart } from './day-clock.js';
import type { Account } from './account.js';
import type { RuntimeContext } from './account-runtime.js';
import type { AccountHealth, Availability } from './health.js';
import { PoolLease, type LeaseOwner } from './lease.js';

/** The account runtime as its admission sees it. */
interface Admitting extends LeaseOwner {
  readonly id: string;
  readonly account: Account;
  readonly health: AccountHealth;
  availability(now: number): Availability;
  refreshing(now: number): boolean;
  /** The daily budget is spent: rest until `until` (the next day). */
  restUntil(until: number): void;
}

type AdmissionContext = Pick<RuntimeContext, 'clock' | 'store' | 'leaseMs' | 'renewals' | 'storeCall' | 'shareHealth' | 'emit' | 'wake' | 'dayTimeZone'>;

/** A day's counter outlives its day by this much (a late request near midnight still finds it). */
const DAILY_COUNTER_TTL_MS = 2 * 86_400_000;

export class AccountAdmission {
  private inFlight = 0;
  private count = 0;
  private lastAdmittedAt: number | undefined;
  /** The token of the cluster-wide lock held by this instance's half-open probe. */
  private probeLock: string | undefined;
  /** Requests counted against today's budget (cluster-wide, as the store last said). */
  private daily: { day: string; used: number } | undefined;

  constructor(
    private readonly rt: Admitting,
    private readonly ctx: AdmissionContext,
  ) {}

  /** Requests running now. */
  get running(): number {
    return this.inFlight;
  }

  /** Requests admitted since start. */
  get admitted(): number {
    return this.count;
  }

  get lastUsedAt(): number | undefined {
    return this.lastAdmittedAt;
  }

  /** Requests counted today against the daily budget, when the account has one. */
  dailyUsed(now: number): number | undefined {
    if (this.rt.account.dailyRequests <= 0) return undefined;
    return this.daily?.day === dayKey(now, this.ctx.dayTimeZone) ? this.daily.used : 0;
  }

  /**
   * Counts an admitted request against the daily budget, in the store so that every instance
   * shares one count. The request that spends the budget still runs; the account then rests
   * until the next day. False when the budget was already spent (another instance spent it).
   */
  private async countAgainstBudget(now: number): Promise<boolean> {
    const budget = this.rt.account.dailyRequests;
    if (budget <= 0) return true;
    const tz = this.ctx.dayTimeZone;
    const day = dayKey(now, tz);
    const used = await this.ctx.storeCall('increment', () => this.ctx.store.increment(`daily:${this.rt.id}:${day}`, DAILY_COUNTER_TTL_MS));
    this.daily = { day, used };
    if (used >= budget) this.rt.restUntil(nextDayStart(now, tz));
    return used <= budget;
  }

  /** See AccountRuntime.admit. */
  async admit(probe: boolean, signal: AbortSignal | undefined, budgeted = false): Promise<PoolLease | undefined> {
    if (probe && !(await this.claimProbe())) return undefined;
    const key = `acct:${this.rt.id}`;
    const { maxConcurrent } = this.rt.account;
    let token: string | undefined;
    try {
      token = await this.ctx.storeCall('acquireSlot', () => this.ctx.store.acquireSlot(key, maxConcurrent, this.ctx.leaseMs));
    } finally {
      if (probe && !token) this.endProbe();
    }
    if (!token) return undefined;
    // The account may have changed state while the store answered.
    const now = this.ctx.clock.now();
    const av = this.rt.availability(now);
    const stillOk = av.kind === 'ready' || (probe && av.kind === 'pending' && !this.rt.refreshing(now));
    if (!stillOk || signal?.aborted || (budgeted && !(await this.withinBudget(now, key, token, probe)))) {
      if (probe) this.endProbe();
      await this.ctx.store.releaseSlot(key, token).catch((err: unknown) => this.storeError('releaseSlot', err));
      signal?.throwIfAborted();
      return undefined;
    }
    this.inFlight += 1;
    this.count += 1;
    this.lastAdmittedAt = now;
    const slot = new HeldSlot(this.ctx.store, { key, token, limit: maxConcurrent, leaseMs: this.ctx.leaseMs, onStoreError: (err) => this.storeError('renewSlot', err) });
    return new PoolLease(this.rt, slot, probe, this.ctx.renewals, signal);
  }

  /** Counts the request against the daily budget; on a store failure the slot goes back and the error goes on. */
  private async withinBudget(now: number, key: string, token: string, probe: boolean): Promise<boolean> {
    try {
      return await this.countAgainstBudget(now);
    } catch (err) {
      if (probe) this.endProbe();
      await this.ctx.store.releaseSlot(key, token).catch(() => undefined);
      throw err;
    }
  }

  /** Spacing between request starts on this account (spec C.1): sleeps until the start reserved for this one. */
  async awaitStart(signal: AbortSignal | undefined): Promise<void> {
    const interval = this.rt.account.minIntervalMs;
    if (interval <= 0) return;
    const now = this.ctx.clock.now();
    const at = await this.ctx.storeCall('reserveStart', () => this.ctx.store.reserveStart(`start:${this.rt.id}`, interval, now));
    const delay = at - this.ctx.clock.now();
    if (delay > 0) await this.ctx.clock.sleep(delay, signal);
  }

  /** A lease admitted here gave its slot back. */
  released(lease: Pick<PoolLease, 'probe' | 'slot'>): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (lease.probe) this.endProbe();
    lease.slot
      .release()
      .catch((err: unknown) => this.storeError('releaseSlot', err))
      .finally(() => this.ctx.wake());
  }

  /** Exactly one probe while half-open: claimed before any await here, and through a store lock across instances. */
  private async claimProbe(): Promise<boolean> {
    if (this.rt.health.probeInFlight) return false;
    this.rt.health.probeInFlight = true;
    if (!this.ctx.shareHealth) return true;
    try {
      this.probeLock = await this.ctx.storeCall('tryLock', () => this.ctx.store.tryLock(`probe:${this.rt.id}`, this.ctx.leaseMs));
    } catch (err) {
      this.rt.health.probeInFlight = false;
      throw err;
    }
    if (this.probeLock !== undefined) return true;
    // Another instance probes; this one waits for its verdict.
    this.rt.health.probeInFlight = false;
    return false;
  }

  /** The probe is over, or was never started: free the flag and the cluster-wide lock. */
  private endProbe(): void {
    this.rt.health.probeInFlight = false;
    const token = this.probeLock;
    if (token === undefined) return;
    this.probeLock = undefined;
    this.ctx.store.releaseLock(`probe:${this.rt.id}`, token).catch((err: unknown) => this.storeError('releaseLock', err));
  }

  private storeError(op: string, err: unknown): void {
    this.ctx.emit({ type: 'store-error', op, error: err instanceof Error ? err.message : String(err) });
  }
}
