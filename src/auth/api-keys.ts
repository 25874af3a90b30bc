/**
 * Client API keys: `API_KEYS` from the environment plus keys created through the admin API
 * and stored hashed (sha256; the key itself is shown once, at creation). Accepted as
 * `Authorization: Bearer <key>` or `x-api-key: <key>`, compared in constant time.
 */
import type { Clock } from '../core/clock.js';
import { ProxyError, isProxyError } from '../core/errors.js';
import { randomAlnum } from '../core/ids.js';
import type { ApiKeyRecord, Store } from '../store/store.js';
import { digestsEqual, extractSecret, generateApiKey, sha256, sha256Hex, type Headers } from './secrets.js';

export interface ApiKeyIdentity {
  /** Stable, non-secret id (scopes conversations); '' when the proxy runs without keys. */
  id: string;
  name: string;
  source: 'env' | 'stored' | 'anonymous';
  /** Model ids this key may request; absent = all. */
  allowedModels?: readonly string[];
  rateLimitPerMinute?: number;
  maxConcurrentStreams?: number;
}

export interface NewApiKey {
  name: string;
  /** Epoch ms. */
  expiresAt?: number;
  allowedModels?: string[];
  rateLimitPerMinute?: number;
  maxConcurrentStreams?: number;
}

export interface KeyUsage {
  requests: number;
  promptTokens: number;
  completionTokens: number;
}

/** An `API_KEYS` entry as listings show it (never the key). */
export interface EnvKeyView {
  id: string;
  name: string;
  prefix: string;
  usage: KeyUsage & { lastUsedAt?: number };
}

/** The canonical id (base model + suffixes, lower case) a model id resolves to; undefined for unknown ids. */
export type CanonicalModelId = (id: string) => Promise<string | undefined>;

export type ApiKeyStore = Pick<Store, 'createApiKey' | 'getApiKeyByHash' | 'listApiKeys' | 'revokeApiKey' | 'recordApiKeyUsage'>;

const ANONYMOUS: ApiKeyIdentity = { id: '', name: 'anonymous', source: 'anonymous' };
/** While no stored key is known, how long "there is none" is believed (other instances may create one). */
const NO_STORED_KEYS_RECHECK_MS = 2_000;

/** The id of an `API_KEYS` entry: derived from the key, so it survives restarts. */
export function keyId(key: string): string {
  return `key_${sha256Hex(key).slice(0, 12)}`;
}

/** Exact id, or a prefix when the entry ends with `*` (`kimi-k2*`); case-insensitive. */
export function modelAllowed(allowed: readonly string[] | undefined, model: string): boolean {
  if (!allowed) return true;
  const m = model.toLowerCase();
  return allowed.some((a) => {
    const p = a.toLowerCase();
    return p.endsWith('*') ? m.startsWith(p.slice(0, -1)) : m === p;
  });
}

function fromRecord(r: ApiKeyRecord): ApiKeyIdentity {
  return {
    id: r.id,
    name: r.name,
    source: 'stored',
    ...(r.allowedModels ? { allowedModels: r.allowedModels } : {}),
    ...(r.rateLimitPerMinute !== undefined ? { rateLimitPerMinute: r.rateLimitPerMinute } : {}),
    ...(r.maxConcurrentStreams !== undefined ? { maxConcurrentStreams: r.maxConcurrentStreams } : {}),
  };
}

export class ApiKeyService {
  private readonly env: Array<{ digest: Buffer; identity: ApiKeyIdentity; prefix: string; usage: KeyUsage & { lastUsedAt?: number } }>;
  private storedKeysExist = false;
  private storedKeysCheckedAt = -Infinity;

  constructor(
    envKeys: readonly string[],
    private readonly store: ApiKeyStore,
    private readonly clock: Clock,
  ) {
    this.env = envKeys.map((k, i) => ({
      digest: sha256(k),
      identity: { id: keyId(k), name: `env-key-${i + 1}`, source: 'env' },
      prefix: k.slice(0, Math.min(8, Math.floor(k.length / 3))),
      usage: { requests: 0, promptTokens: 0, completionTokens: 0 },
    }));
  }

  /**
   * True when clients must present a key: `API_KEYS` is set or the store holds any key
   * (revoked ones included, so revoking the last key never opens the proxy).
   */
  async enabled(): Promise<boolean> {
    if (this.env.length > 0 || this.storedKeysExist) return true;
    const now = this.clock.now();
    if (now - this.storedKeysCheckedAt < NO_STORED_KEYS_RECHECK_MS) return false;
    const keys = await this.storeCall('listApiKeys', () => this.store.listApiKeys());
    this.storedKeysCheckedAt = now;
    this.storedKeysExist = keys.length > 0;
    return this.storedKeysExist;
  }

  /** Throws 401 (invalid_api_key, api_key_revoked, api_key_expired) when keys are required and none is valid. */
  async authenticate(headers: Headers): Promise<ApiKeyIdentity> {
    const presented = extractSecret(headers, 'x-api-key');
    if (!(await this.enabled())) return ANONYMOUS;
    if (!presented) {
      throw new ProxyError('invalid_api_key', 'Missing API key: send it as "Authorization: Bearer <key>" or "x-api-key: <key>".');
    }
    const digest = sha256(presented);
    // Compare against every env key, so timing does not reveal which one matched.
    let match: ApiKeyIdentity | undefined;
    for (const k of this.env) if (digestsEqual(digest, k.digest)) match = k.identity;
    if (match) return match;
    const record = await this.storeCall('getApiKeyByHash', () => this.store.getApiKeyByHash(digest.toString('hex')));
    if (!record || !digestsEqual(digest, record.hash)) throw new ProxyError('invalid_api_key', 'Incorrect API key provided.');
    if (record.revokedAt !== undefined) throw new ProxyError('api_key_revoked', `This API key ("${record.name}") has been revoked.`);
    if (record.expiresAt !== undefined && this.clock.now() >= record.expiresAt) {
      throw new ProxyError('api_key_expired', `This API key ("${record.name}") expired at ${new Date(record.expiresAt).toISOString()}.`);
    }
    return fromRecord(record);
  }

  /**
   * 403 model_not_allowed when the key is restricted to other models. A model is allowed when
   * its id, or the model it resolves to, matches an entry: a key allowed `kimi-k2.6` may ask
   * for `k2` (an alias of it), and one allowed `k2` for `kimi-k2.6`.
   */
  async assertModelAllowed(identity: ApiKeyIdentity, model: string, canonicalOf: CanonicalModelId): Promise<void> {
    if (await this.isModelAllowed(identity, model, canonicalOf)) return;
    throw new ProxyError('model_not_allowed', `This API key may not use the model "${model}". Allowed: ${identity.allowedModels!.join(', ')}.`, {
      param: 'model',
    });
  }

  /** The models a key may see in /v1/models (by the same rule as the check). */
  async filterModels<T extends { id: string }>(identity: ApiKeyIdentity, models: readonly T[], canonicalOf: CanonicalModelId): Promise<T[]> {
    if (!identity.allowedModels) return [...models];
    const out: T[] = [];
    for (const m of models) if (await this.isModelAllowed(identity, m.id, canonicalOf)) out.push(m);
    return out;
  }

  private async isModelAllowed(identity: ApiKeyIdentity, model: string, canonicalOf: CanonicalModelId): Promise<boolean> {
    const allowed = identity.allowedModels;
    if (modelAllowed(allowed, model)) return true;
    const canonical = await canonicalOf(model);
    if (canonical === undefined) return false;
    if (modelAllowed(allowed, canonical)) return true;
    for (const entry of allowed!) {
      if (!entry.endsWith('*') && (await canonicalOf(entry)) === canonical) return true;
    }
    return false;
  }

  /** Adds one request (with its estimated tokens) to the key's counters. Never throws. */
  async recordUsage(identity: ApiKeyIdentity, usage: KeyUsage): Promise<void> {
    const at = this.clock.now();
    if (identity.source === 'env') {
      const k = this.env.find((e) => e.identity.id === identity.id);
      if (!k) return;
      k.usage.requests += usage.requests;
      k.usage.promptTokens += usage.promptTokens;
      k.usage.completionTokens += usage.completionTokens;
      k.usage.lastUsedAt = at;
    } else if (identity.source === 'stored') {
      await this.store.recordApiKeyUsage(identity.id, { ...usage, at }).catch(() => undefined);
    }
  }

  /** Creates a stored key. The returned `key` is the only time it exists in clear. */
  async create(input: NewApiKey): Promise<{ record: ApiKeyRecord; key: string }> {
    const { key, hash, prefix } = generateApiKey();
    const record: ApiKeyRecord = {
      id: `ak_${randomAlnum(16)}`,
      name: input.name,
      hash,
      prefix,
      createdAt: this.clock.now(),
      ...(input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}),
      ...(input.allowedModels ? { allowedModels: input.allowedModels } : {}),
      ...(input.rateLimitPerMinute !== undefined ? { rateLimitPerMinute: input.rateLimitPerMinute } : {}),
      ...(input.maxConcurrentStreams !== undefined ? { maxConcurrentStreams: input.maxConcurrentStreams } : {}),
      usage: { requests: 0, promptTokens: 0, completionTokens: 0 },
    };
    await this.storeCall('createApiKey', () => this.store.createApiKey(record));
    this.storedKeysExist = true;
    return { record, key };
  }

  listStored(): Promise<ApiKeyRecord[]> {
    return this.storeCall('listApiKeys', () => this.store.listApiKeys());
  }

  listEnv(): EnvKeyView[] {
    return this.env.map((k) => ({ id: k.identity.id, name: k.identity.name, prefix: k.prefix, usage: { ...k.usage } }));
  }

  /** Revokes a stored key; undefined when there is no such key. */
  async revoke(id: string): Promise<ApiKeyRecord | undefined> {
    const ok = await this.storeCall('revokeApiKey', () => this.store.revokeApiKey(id, this.clock.now()));
    if (!ok) return undefined;
    return (await this.listStored()).find((k) => k.id === id);
  }

  private async storeCall<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isProxyError(err)) throw err;
      throw new ProxyError('store_unavailable', `The store failed (${op}).`, { cause: err });
    }
  }
}
