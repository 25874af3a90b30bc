/**
 * Account changes made at run time (admin API, dashboard) that every instance sharing the
 * store must apply: accounts added, removed, disabled or enabled, re-weighted or re-limited,
 * and tokens replaced. They are kept in one document in the store, changed under a store lock
 * (read, change, write), and each instance reads it back every `syncMs` and brings its pool
 * in line. Config accounts (KIMI_TOKENS, the accounts file) stay as configured; the document
 * only holds what was changed about them.
 *
 * The document lives in an account-state record (`registry:accounts`): that is the one keyed
 * record every store backend already keeps, so no backend needed a new table.
 */
import type { Clock } from '../core/clock.js';
import { ProxyError } from '../core/errors.js';
import type { Store } from '../store/store.js';
import { makeAccount, type AccountSettings } from './account.js';
import type { AccountPool } from './pool.js';

export const REGISTRY_KEY = 'registry:accounts';
const LOCK_KEY = 'lock:registry:accounts';
const LOCK_TTL_MS = 10_000;
const LOCK_WAIT_MS = 5_000;
const LOCK_POLL_MS = 50;

export type SettingsChange = Partial<Pick<AccountSettings, 'weight' | 'maxConcurrent' | 'minIntervalMs' | 'disabled' | 'dailyRequests'>>;

export interface RegistryEntry {
  name: string;
  /** admin: added at run time (the entry defines it); config: a configured account changed at run time. */
  origin: 'admin' | 'config';
  /** admin entries: the token the account was added with. */
  token?: string;
  proxyUrl?: string;
  settings: SettingsChange;
  /** A token that replaced the account's own, with an id (instances apply each replacement once). */
  replaced?: { token: string; id: string };
  removed?: boolean;
}

interface RegistryDoc {
  v: 1;
  rev: number;
  entries: Record<string, RegistryEntry>;
}

export interface AccountRegistryOptions {
  store: Pick<Store, 'getAccountState' | 'saveAccountState' | 'tryLock' | 'releaseLock'>;
  pool: AccountPool;
  clock: Clock;
  /** How often the document is read back for other instances' changes. */
  syncMs: number;
  onError: (op: string, err: unknown) => void;
}

const emptyDoc = (): RegistryDoc => ({ v: 1, rev: 0, entries: {} });

function decode(raw: string | undefined): RegistryDoc {
  if (!raw) return emptyDoc();
  try {
    const doc = JSON.parse(raw) as RegistryDoc;
    return doc && doc.v === 1 && typeof doc.entries === 'object' && doc.entries !== null ? doc : emptyDoc();
  } catch {
    return emptyDoc();
  }
}

export class AccountRegistry {
  private appliedRev = -1;
  /** Per account: the replacement and the disabled flag last applied here. */
  private readonly appliedReplacement = new Map<string, string>();
  private readonly appliedDisabled = new Map<string, boolean>();
  private applying: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private entries: Record<string, RegistryEntry> = {};

  constructor(private readonly opts: AccountRegistryOptions) {}

  /** Where an account came from, as the admin API shows it. */
  origin(accountId: string): 'admin' | 'config' {
    return this.entries[accountId]?.origin ?? 'config';
  }

  /** Applies the stored changes now, then keeps following them. */
  async start(): Promise<void> {
    await this.sync();
    this.timer = setInterval(() => void this.sync(), this.opts.syncMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads the document and applies it when it changed since the last time. */
  async sync(): Promise<void> {
    try {
      const doc = await this.read();
      if (doc.rev !== this.appliedRev) await this.apply(doc);
    } catch (err) {
      this.opts.onError('registry.sync', err);
    }
  }

  /**
   * Changes the document under the store lock and applies the result here at once (other
   * instances follow within `syncMs`). `change` may throw to refuse.
   */
  async change(change: (entries: Record<string, RegistryEntry>) => void): Promise<void> {
    const lock = await this.lock();
    try {
      const doc = await this.read();
      change(doc.entries);
      doc.rev += 1;
      await this.opts.store.saveAccountState({ accountId: REGISTRY_KEY, health: JSON.stringify(doc), updatedAt: this.opts.clock.now() });
      await this.apply(doc);
    } finally {
      await this.opts.store.releaseLock(LOCK_KEY, lock).catch(() => undefined);
    }
  }

  private async read(): Promise<RegistryDoc> {
    return decode((await this.opts.store.getAccountState(REGISTRY_KEY))?.health);
  }

  private async lock(): Promise<string> {
    const deadline = this.opts.clock.now() + LOCK_WAIT_MS;
    for (;;) {
      const token = await this.opts.store.tryLock(LOCK_KEY, LOCK_TTL_MS);
      if (token) return token;
      if (this.opts.clock.now() > deadline) throw new ProxyError('store_unavailable', 'Another account change is still running; try again.');
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
  }

  /** One application at a time, in order. */
  private apply(doc: RegistryDoc): Promise<void> {
    const run = this.applying.then(() => this.applyNow(doc));
    this.applying = run.catch(() => undefined);
    return run;
  }

  private async applyNow(doc: RegistryDoc): Promise<void> {
    if (doc.rev <= this.appliedRev && this.appliedRev !== -1) return;
    const { pool } = this.opts;
    for (const [id, entry] of Object.entries(doc.entries)) {
      try {
        if (entry.removed) {
          pool.remove(id);
          continue;
        }
        if (!pool.get(id)) {
          if (entry.origin !== 'admin' || !entry.token) continue;
          const account = makeAccount(entry.token, entry.name, id, { ...entry.settings, ...(entry.proxyUrl ? { proxyUrl: entry.proxyUrl } : {}) });
          await pool.add(account);
          this.appliedDisabled.set(id, account.disabled);
        }
        const { disabled, ...limits } = entry.settings;
        if (Object.keys(limits).length > 0) pool.updateSettings(id, limits);
        if (disabled !== undefined && this.appliedDisabled.get(id) !== disabled) {
          pool.setDisabled(id, disabled);
          this.appliedDisabled.set(id, disabled);
        }
        if (entry.replaced && this.appliedReplacement.get(id) !== entry.replaced.id) {
          this.appliedReplacement.set(id, entry.replaced.id);
          await pool.replaceToken(id, entry.replaced.token);
        }
      } catch (err) {
        this.opts.onError(`registry.apply ${entry.name}`, err);
      }
    }
    this.entries = doc.entries;
    this.appliedRev = doc.rev;
  }
}
