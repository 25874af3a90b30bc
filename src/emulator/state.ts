/** Everything one emulator instance owns; no module-level mutable state, so instances run side by side. */
import { systemClock } from '../core/clock.js';
import { ChatStore } from './chat-store.js';
import { TokenFaults } from './faults.js';
import { FileStore } from './file-store.js';
import { QuotaBook } from './quota.js';
import { StatsRecorder } from './stats.js';
import { TokenRegistry } from './tokens.js';
import type { EmulatorOptions, ResolvedEmulatorOptions } from './types.js';

export interface EmulatorState {
  options: ResolvedEmulatorOptions;
  /** Base URL once listening (for pre-signed upload URLs). */
  url: string;
  tokens: TokenRegistry;
  faults: TokenFaults;
  stats: StatsRecorder;
  chats: ChatStore;
  files: FileStore;
  /** Usage limits per account key (quota.ts). */
  quota: QuotaBook;
  catalogFailure: boolean;
  maxConcurrentPerAccount: number | null;
}

export function resolveOptions(o: EmulatorOptions = {}): ResolvedEmulatorOptions {
  return {
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 0,
    accessTokenTtlSec: o.accessTokenTtlSec ?? 900,
    acceptAnyToken: o.acceptAnyToken ?? true,
    rotateRefreshTokens: o.rotateRefreshTokens ?? true,
    heartbeatIntervalMs: o.heartbeatIntervalMs ?? 5000,
    defaultDeltaDelayMs: o.defaultDeltaDelayMs ?? 0,
    maxEventsLogged: o.maxEventsLogged ?? 50,
    clock: o.clock ?? systemClock,
  };
}

export function createState(options: ResolvedEmulatorOptions): EmulatorState {
  return {
    options,
    url: '',
    tokens: new TokenRegistry(options, () => options.clock.now()),
    faults: new TokenFaults(),
    stats: new StatsRecorder(options.maxEventsLogged),
    chats: new ChatStore(),
    files: new FileStore(),
    quota: new QuotaBook(),
    catalogFailure: false,
    maxConcurrentPerAccount: null,
  };
}
