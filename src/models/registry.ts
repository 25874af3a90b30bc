/**
 * The models this deployment offers. REST uses the built-in table. Connect reads the live
 * catalog (GetAvailableModels), caches it, refreshes it in the background when stale
 * (stale-while-revalidate), and falls back to the built-in table when the call fails.
 */
import type { Clock } from '../core/clock.js';
import type { KimiProtocol, UpstreamCatalog } from '../upstream/kimi/types.js';
import { aliasTarget, type ModelAliasRule } from './aliases.js';
import { baseModelsFromCatalog } from './catalog-models.js';
import {
  CONNECT_FALLBACK_MODELS,
  REST_BASE_MODELS,
  listModels,
  resolveModel,
  type BaseModel,
  type PublicModel,
  type ResolveOptions,
  type ResolvedModel,
} from './model-table.js';

/** `created` for every listed model: fixed, so listings are stable across restarts. */
const MODELS_CREATED = 1752192000;

export interface ModelRegistryOptions {
  protocol: KimiProtocol;
  ttlMs: number;
  clock: Clock;
  /** Reads the live catalog (Connect). Absent: the built-in table is the truth. */
  fetchCatalog?: () => Promise<UpstreamCatalog>;
  /** How long a first request waits for the first catalog fetch before using the fallback. */
  firstFetchWaitMs?: number;
  onError?: (err: unknown) => void;
  /** MODEL_ALIASES: client model names answered as another model (tried before the table). */
  aliases?: readonly ModelAliasRule[];
}

export type CatalogSource = 'builtin' | 'live' | 'fallback';

export class ModelRegistry {
  private table: BaseModel[];
  private source: CatalogSource;
  private fetchedAt = -Infinity;
  private inflight: Promise<void> | undefined;

  constructor(private readonly opts: ModelRegistryOptions) {
    this.table = opts.protocol === 'rest' ? REST_BASE_MODELS : CONNECT_FALLBACK_MODELS;
    this.source = opts.fetchCatalog ? 'fallback' : 'builtin';
  }

  get catalogSource(): CatalogSource {
    return this.source;
  }

  async resolve(id: string, resolveOpts: ResolveOptions = {}): Promise<ResolvedModel | undefined> {
    await this.current();
    const target = this.opts.aliases ? aliasTarget(this.opts.aliases, id) : undefined;
    if (target === undefined) return resolveModel(this.table, id, resolveOpts);
    const resolved = resolveModel(this.table, target, resolveOpts);
    // The client's own name is echoed back, as for any other id.
    return resolved ? { ...resolved, requestedId: id } : undefined;
  }

  async list(): Promise<PublicModel[]> {
    await this.current();
    return listModels(this.table, MODELS_CREATED);
  }

  /** Forces a catalog refresh now (used at start and by tests). */
  refresh(): Promise<void> {
    if (!this.opts.fetchCatalog) return Promise.resolve();
    this.inflight ??= this.fetch().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async current(): Promise<void> {
    if (!this.opts.fetchCatalog) return;
    const age = this.opts.clock.now() - this.fetchedAt;
    if (age < this.opts.ttlMs) return;
    const pending = this.refresh();
    if (this.fetchedAt === -Infinity) {
      // First use: wait briefly for the live list; never block a request for long on it.
      await Promise.race([pending, this.opts.clock.sleep(this.opts.firstFetchWaitMs ?? 3_000).catch(() => undefined)]);
    }
  }

  private async fetch(): Promise<void> {
    try {
      const catalog = await this.opts.fetchCatalog!();
      const table = baseModelsFromCatalog(catalog);
      if (table.length === 0) throw new Error('the live catalog listed no usable models');
      this.table = table;
      this.source = 'live';
    } catch (err) {
      this.opts.onError?.(err);
      // Keep the last good table (stale beats nothing); retry after the TTL.
    } finally {
      this.fetchedAt = this.opts.clock.now();
    }
  }
}
