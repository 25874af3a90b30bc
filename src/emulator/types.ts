/** Public types of the Kimi web emulator (options, stats, control surface, fault vocabulary). */
import type { QuotaSettings } from './quota.js';

import type { Clock } from '../core/clock.js';

export interface EmulatorOptions {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 0 (a random free port). */
  port?: number;
  /** Lifetime of access JWTs issued by the refresh endpoint; default 900 (spec 1.2, 2026-09). */
  accessTokenTtlSec?: number;
  /** Default true: any non-empty bearer is valid unless invalidated, faulted, or an expired emulator-issued JWT. */
  acceptAnyToken?: boolean;
  /** Default true: a refresh returns a new refresh token and the old one stops working. */
  rotateRefreshTokens?: boolean;
  /** Connect heartbeat while the stream is idle (stalls, slow replies); default 5000; 0 disables. */
  heartbeatIntervalMs?: number;
  /** Delay between deltas when a message has no `delay=` directive; default 0. */
  defaultDeltaDelayMs?: number;
  /** Size of the recent-request ring buffer; default 50. */
  maxEventsLogged?: number;
  /** The time tokens are issued and checked against; default the system clock (tests pass a FakeClock to outlive a TTL without waiting). */
  clock?: Clock;
}

export type ResolvedEmulatorOptions = Required<EmulatorOptions>;

export const FAULT_NAMES = [
  '401',
  '429',
  '500',
  '502',
  '503',
  'error-event',
  'unauthenticated-in-stream',
  'exception',
  'trailer-error',
  'cut',
  'truncate',
  'no-done',
  'stall',
  'length',
  'busy',
] as const;

export type FaultName = (typeof FAULT_NAMES)[number];

/** One injected fault, from a `[[emu fault=...]]` directive or a per-token fault. */
export interface FaultSpec {
  fault: FaultName;
  /** Answer deltas sent before the fault strikes. */
  after: number;
  /** Overrides the error code (Connect `code`, REST `error_type`). */
  code?: string;
  /** `Retry-After` seconds for 429; null omits the header. */
  retryAfterSec: number | null;
}

export interface TokenFaultOptions {
  /** How many calls the fault affects; absent = until cleared. */
  times?: number;
  /** `Retry-After` seconds for 429 (default 2); null omits the header. */
  retryAfter?: number | null;
  code?: string;
  /** Answer deltas before a mid-stream fault (default 0). */
  after?: number;
}

export interface RecentRequest {
  method: string;
  path: string;
  /** Parsed JSON (Connect Chat: the envelope's payload), or null. */
  body: unknown;
  /** Selected non-secret headers; never authorization or cookie. */
  headers: Record<string, string>;
}

export interface EmulatorStats {
  chatsCreated: number;
  chatsDeleted: number;
  /** Files stored by either upload flow (legacy registration, Connect upload). */
  filesUploaded: number;
  liveChats: number;
  streamsStarted: number;
  /** Streams the emulator ended itself (normally or by a scripted fault). */
  streamsCompleted: number;
  /** Streams whose client went away before the end. */
  streamsCancelled: number;
  openStreams: number;
  maxOpenStreams: number;
  requestsByAccount: Record<string, number>;
  openStreamsByAccount: Record<string, number>;
  maxOpenStreamsByAccount: Record<string, number>;
  refreshes: Record<string, number>;
  requestsByPath: Record<string, number>;
  recentRequests: RecentRequest[];
}

/** The control surface, also served over HTTP under `/__emulator/`. */
export interface EmulatorControl {
  stats(): EmulatorStats;
  /** Clears counters, token faults, invalidations, the catalog failure and the concurrency limit. Chats stay. */
  reset(): void;
  /** Keyed by a token string or an account key. `401` fails every call; other faults hit chat streams only. */
  setTokenFault(tokenOrAccountKey: string, fault: FaultName, options?: TokenFaultOptions): void;
  clearTokenFault(tokenOrAccountKey: string): void;
  /** The token stops working; invalidating an account key (an original refresh token) kills its whole lineage. */
  invalidateToken(token: string): void;
  /** While true, GetAvailableModels answers 500. */
  setCatalogFailure(fail: boolean): void;
  /** Beyond n open streams for one account key, Chat is refused; null removes the limit. */
  setMaxConcurrentPerAccount(n: number | null): void;
  /**
   * Gives an account (by token or account key) a usage limit: `limit` chat replies per
   * `resetSec` window, then the limit answer (quota.ts) until the window ends. null removes it.
   */
  setQuota(tokenOrAccountKey: string, settings: QuotaSettings | null): void;
  /** The account key a token counts under (see EmulatorStats.requestsByAccount). */
  accountKeyOf(token: string): string;
}

export interface Emulator {
  /** e.g. http://127.0.0.1:PORT (no trailing slash); the proxy's KIMI_BASE_URL. */
  url: string;
  port: number;
  stats(): EmulatorStats;
  control: EmulatorControl;
  /** Closes the server and destroys open sockets. */
  close(): Promise<void>;
}
