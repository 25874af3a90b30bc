/**
 * One account's link to its shared health record (shared-health.ts):
 * - `capture` turns local transitions (seen by comparing the health with a snapshot taken
 *   at the last call) into events of the record, and says whether other instances should
 *   hear about them;
 * - `sync` exchanges the record with the store: read it, adopt what other instances know
 *   (taking their replacement tokens first), write back what the store lacks. Runs one at
 *   a time per account; a call during a run makes the run go round once more.
 */
import type { Clock } from '../core/clock.js';
import type { AccountState } from '../store/store.js';
import type { AccountHealth } from './health.js';
import type { PoolStore } from './pool-types.js';
import {
  decodeSharedHealth,
  emptySharedHealth,
  encodeSharedHealth,
  healthKey,
  invalidMark,
  mergeSharedHealth,
  nextStamp,
  openCircuit,
  sameSharedHealth,
  type SharedHealth,
} from './shared-health.js';

export interface HealthShareHost {
  readonly stateKey: string;
  readonly health: AccountHealth;
  readonly store: PoolStore;
  readonly clock: Clock;
  /** Another instance replaced the account's tokens: take them from the stored token state. */
  adoptTokens(state: AccountState | undefined): void;
  /** The shared record changed the local health; `invalidAt` is set when it brought an invalid mark. */
  adopted(change: { invalidAt?: number }): void;
}

interface Snapshot {
  openUntil: number | undefined;
  invalid: AccountHealth['invalid'];
  lastError: string | undefined;
}

export class HealthShare {
  private known: SharedHealth = emptySharedHealth();
  private snap: Snapshot;
  private running: Promise<void> | undefined;
  private again = false;
  /** An event recorded outside `capture` (a replacement) that still has to be published. */
  private unpublished = false;

  constructor(
    private readonly host: HealthShareHost,
    /** False: nothing is shared (a pool without a store); every method is a no-op. */
    readonly enabled: boolean,
  ) {
    this.snap = this.snapshot();
  }

  /** What this instance knows (for tests and diagnostics). */
  get record(): Readonly<SharedHealth> {
    return this.known;
  }

  /** Records local transitions since the last call. True when one of them should be published. */
  capture(): boolean {
    if (!this.enabled) return false;
    const h = this.host.health;
    const k = this.known;
    const s = this.snap;
    const now = this.host.clock.now();
    let event = false;
    if (h.cooldownUntil > k.cooldownUntil) {
      k.cooldownUntil = h.cooldownUntil;
      event = true;
    }
    const openUntil = h.breakerOpenUntil;
    if (openUntil !== s.openUntil) {
      if (openUntil !== undefined) k.open = { at: nextStamp(k, now), until: openUntil, opens: Math.max(1, h.openCount) };
      else k.closedAt = nextStamp(k, now);
      event = true;
    }
    if (h.invalid !== s.invalid) {
      if (h.invalid) k.invalid = { at: nextStamp(k, now), gen: k.gen, cause: h.invalid.cause, reason: h.invalid.reason };
      else k.validAt = nextStamp(k, now);
      event = true;
    }
    // The last error travels with the next write; on its own it is not worth one.
    if (h.lastError !== s.lastError) k.lastError = { at: nextStamp(k, now), text: h.lastError ?? '' };
    this.snap = this.snapshot();
    const publish = event || this.unpublished;
    this.unpublished = false;
    return publish;
  }

  /** This instance put new tokens in place (already stored): invalid marks about older tokens no longer count. */
  noteReplaced(): void {
    if (!this.enabled) return;
    this.capture();
    this.known.gen = nextStamp(this.known, this.host.clock.now());
    this.unpublished = true;
  }

  /** Exchanges the record with the store now (or joins the exchange in progress). Rejects on store errors. */
  sync(): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = async (): Promise<void> => {
      try {
        do {
          this.again = false;
          await this.exchange();
        } while (this.again);
      } finally {
        this.running = undefined;
      }
    };
    this.running = run();
    return this.running;
  }

  private async exchange(): Promise<void> {
    const { store, stateKey, clock } = this.host;
    const remote = decodeSharedHealth(await store.getAccountState(healthKey(stateKey))) ?? emptySharedHealth();
    if (remote.gen > this.known.gen) {
      // Tokens first: the invalid marks the new generation clears were about the old tokens.
      this.host.adoptTokens(await store.getAccountState(stateKey));
    }
    // Local events that happened while the store answered.
    this.capture();
    const merged = mergeSharedHealth(this.known, remote);
    if (!sameSharedHealth(merged, this.known)) {
      this.known = merged;
      this.apply();
    }
    if (!sameSharedHealth(this.known, remote)) await store.saveAccountState(encodeSharedHealth(stateKey, this.known, clock.now()));
  }

  /** Makes the local health what the record says. */
  private apply(): void {
    const h = this.host.health;
    const k = this.known;
    if (k.cooldownUntil > h.cooldownUntil) h.cooldownUntil = k.cooldownUntil;
    h.setCircuit(openCircuit(k));
    const mark = invalidMark(k);
    let invalidAt: number | undefined;
    if (mark && (h.invalid?.cause !== mark.cause || h.invalid.reason !== mark.reason)) {
      h.markInvalid(mark.cause, mark.reason);
      invalidAt = mark.at;
    } else if (!mark && h.invalid) {
      h.clearInvalid();
    }
    if (k.lastError) h.lastError = k.lastError.text === '' ? undefined : k.lastError.text;
    this.snap = this.snapshot();
    this.host.adopted(invalidAt === undefined ? {} : { invalidAt });
  }

  private snapshot(): Snapshot {
    const h = this.host.health;
    return { openUntil: h.breakerOpenUntil, invalid: h.invalid, lastError: h.lastError };
  }
}
