/**
 * The part of an account's health that every instance sharing a store must agree on:
 * rate-limit cooldowns, the circuit breaker, the invalid mark, and which generation of
 * tokens is current. Kept as a record whose fields only ever grow (a join semilattice):
 * merging two records keeps the later of each event, in any order, any number of times.
 * So instances can write it without locks: a write lost to a concurrent one is noticed at
 * the next read (the stored record lacks something the instance knows) and written again.
 *
 * Events are ordered by stamps (see `nextStamp`): milliseconds of the instance's clock,
 * pushed past every stamp already seen so that two events in the same millisecond still
 * have an order.
 *
 * Stored with `saveAccountState` under `health:<stateKey>`, apart from the token state
 * (`<stateKey>`), so that neither write ever overwrites the other.
 */
import type { AccountState } from '../store/store.js';
import type { InvalidCause } from './health.js';

export interface SharedHealth {
  v: 1;
  /** Highest stamp in the record (the logical clock). */
  stamp: number;
  /** End of the latest rate-limit cooldown. */
  cooldownUntil: number;
  /** The latest opening of the circuit: until when, and how many openings in a row (backoff). */
  open?: { at: number; until: number; opens: number };
  /** When a success last closed the circuit. */
  closedAt: number;
  /** The latest invalid mark; it concerns the token generation `gen`. */
  invalid?: { at: number; gen: number; cause: InvalidCause; reason: string };
  /** When the account last proved usable again (token replaced, re-check passed). */
  validAt: number;
  /** Generation of the account's tokens: the stamp of the latest replacement (0 = as configured). */
  gen: number;
  /** The latest error seen (for status pages); '' once cleared. */
  lastError?: { at: number; text: string };
}

export const HEALTH_KEY_PREFIX = 'health:';

export const healthKey = (stateKey: string): string => `${HEALTH_KEY_PREFIX}${stateKey}`;

export function emptySharedHealth(): SharedHealth {
  return { v: 1, stamp: 0, cooldownUntil: 0, closedAt: 0, validAt: 0, gen: 0 };
}

/** A stamp later than every one in `h` and not earlier than `now`; records it in `h`. */
export function nextStamp(h: SharedHealth, now: number): number {
  h.stamp = Math.max(now, h.stamp + 1);
  return h.stamp;
}

const later = <T extends { at: number }>(a: T | undefined, b: T | undefined): T | undefined => (!a ? b : !b ? a : b.at > a.at ? b : a);

/** The record that knows everything `a` and `b` know. Field order is fixed, so equal records serialise equally. */
export function mergeSharedHealth(a: SharedHealth, b: SharedHealth): SharedHealth {
  const out: SharedHealth = {
    v: 1,
    stamp: Math.max(a.stamp, b.stamp),
    cooldownUntil: Math.max(a.cooldownUntil, b.cooldownUntil),
    closedAt: Math.max(a.closedAt, b.closedAt),
    validAt: Math.max(a.validAt, b.validAt),
    gen: Math.max(a.gen, b.gen),
  };
  const open = later(a.open, b.open);
  if (open) out.open = { at: open.at, until: open.until, opens: open.opens };
  const invalid = later(a.invalid, b.invalid);
  if (invalid) out.invalid = { at: invalid.at, gen: invalid.gen, cause: invalid.cause, reason: invalid.reason };
  const lastError = later(a.lastError, b.lastError);
  if (lastError) out.lastError = { at: lastError.at, text: lastError.text };
  return out;
}

/** Whether `a` and `b` hold the same knowledge. */
export function sameSharedHealth(a: SharedHealth, b: SharedHealth): boolean {
  return JSON.stringify(mergeSharedHealth(a, a)) === JSON.stringify(mergeSharedHealth(b, b));
}

/** The circuit is open (or half-open) according to `h`. */
export function openCircuit(h: SharedHealth): { until: number; opens: number } | undefined {
  return h.open && h.open.at > h.closedAt ? { until: h.open.until, opens: h.open.opens } : undefined;
}

/** The invalid mark in force: for the current token generation and not cleared since. */
export function invalidMark(h: SharedHealth): { at: number; cause: InvalidCause; reason: string } | undefined {
  const m = h.invalid;
  return m && m.gen >= h.gen && m.at > h.validAt ? { at: m.at, cause: m.cause, reason: m.reason } : undefined;
}

/** As stored: the record as JSON in `health`, plus readable summary fields. */
export function encodeSharedHealth(stateKey: string, h: SharedHealth, now: number): AccountState {
  const state: AccountState = { accountId: healthKey(stateKey), health: JSON.stringify(h), updatedAt: now };
  const open = openCircuit(h);
  const until = Math.max(h.cooldownUntil, open?.until ?? 0);
  if (until > 0) state.cooldownUntil = until;
  if (h.lastError?.text) state.lastError = h.lastError.text;
  return state;
}

const CAUSES: ReadonlySet<string> = new Set<InvalidCause>(['refresh-rejected', 'access-rejected', 'access-expired']);

const finite = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a stored record; anything unreadable counts as nothing known (it is rewritten at the next exchange). */
export function decodeSharedHealth(state: AccountState | undefined): SharedHealth | undefined {
  if (!state?.health) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(state.health);
  } catch {
    return undefined;
  }
  if (!isObject(raw) || raw.v !== 1) return undefined;
  const h: SharedHealth = {
    v: 1,
    stamp: finite(raw.stamp),
    cooldownUntil: finite(raw.cooldownUntil),
    closedAt: finite(raw.closedAt),
    validAt: finite(raw.validAt),
    gen: finite(raw.gen),
  };
  if (isObject(raw.open)) h.open = { at: finite(raw.open.at), until: finite(raw.open.until), opens: Math.max(1, finite(raw.open.opens)) };
  const inv = raw.invalid;
  if (isObject(inv) && typeof inv.cause === 'string' && CAUSES.has(inv.cause)) {
    h.invalid = { at: finite(inv.at), gen: finite(inv.gen), cause: inv.cause as InvalidCause, reason: typeof inv.reason === 'string' ? inv.reason : 'invalid' };
  }
  if (isObject(raw.lastError) && typeof raw.lastError.text === 'string') h.lastError = { at: finite(raw.lastError.at), text: raw.lastError.text };
  return h;
}
