/**
 * In-process coordination for a pool built without a store: slots with leases, start
 * spacing, the rotation counter, locks and account state, all in this object. Nothing is
 * shared with other instances and nothing survives a restart.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { AccountState } from '../store/store.js';
import type { PoolStore } from './pool-types.js';

export class LocalPoolStore implements PoolStore {
  private readonly slots = new Map<string, Map<string, number>>();
  private readonly starts = new Map<string, number>();
  private readonly counters = new Map<string, { value: number; expiresAt: number }>();
  private readonly locks = new Map<string, { token: string; expiresAt: number }>();
  private readonly states = new Map<string, AccountState>();

  constructor(private readonly clock: Clock) {}

  private live(key: string): Map<string, number> {
    const now = this.clock.now();
    let held = this.slots.get(key);
    if (!held) {
      held = new Map();
      this.slots.set(key, held);
    }
    for (const [token, expiresAt] of held) if (expiresAt <= now) held.delete(token);
    return held;
  }

  async acquireSlot(key: string, limit: number, leaseMs: number): Promise<string | undefined> {
    const held = this.live(key);
    if (held.size >= limit) return undefined;
    const token = randomUUID();
    held.set(token, this.clock.now() + leaseMs);
    return token;
  }

  async renewSlot(key: string, token: string, leaseMs: number): Promise<boolean> {
    const held = this.live(key);
    if (!held.has(token)) return false;
    held.set(token, this.clock.now() + leaseMs);
    return true;
  }

  async releaseSlot(key: string, token: string): Promise<void> {
    this.slots.get(key)?.delete(token);
  }

  async reserveStart(key: string, minIntervalMs: number, now: number): Promise<number> {
    const at = Math.max(now, (this.starts.get(key) ?? -Infinity) + minIntervalMs);
    this.starts.set(key, at);
    return at;
  }

  async increment(key: string, windowMs?: number): Promise<number> {
    const now = this.clock.now();
    const current = this.counters.get(key);
    const next = current && current.expiresAt > now ? current.value + 1 : 1;
    const expiresAt = current && current.expiresAt > now ? current.expiresAt : windowMs === undefined ? Infinity : now + windowMs;
    this.counters.set(key, { value: next, expiresAt });
    return next;
  }

  async tryLock(key: string, ttlMs: number): Promise<string | undefined> {
    const now = this.clock.now();
    const held = this.locks.get(key);
    if (held && held.expiresAt > now) return undefined;
    const token = randomUUID();
    this.locks.set(key, { token, expiresAt: now + ttlMs });
    return token;
  }

  async releaseLock(key: string, token: string): Promise<void> {
    if (this.locks.get(key)?.token === token) this.locks.delete(key);
  }

  async getAccountState(accountId: string): Promise<AccountState | undefined> {
    const s = this.states.get(accountId);
    return s && { ...s };
  }

  async saveAccountState(state: AccountState): Promise<void> {
    this.states.set(state.accountId, { ...state });
  }
}
