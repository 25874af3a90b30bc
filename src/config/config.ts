/**
 * Typed configuration from the environment (and `.env`), validated once at start.
 * Names are stable: deployments and docs depend on them. docs/configuration.md lists them all.
 */
import { z } from 'zod';
import { AccountsConfigError, parseAccountEntries, type AccountEntry } from '../accounts/accounts-config.js';
import type { AuxiliarySignature } from '../auxiliary/signatures.js';
import { DEFAULT_MODEL_ALIASES, parseModelAliases, type ModelAliasRule } from '../models/aliases.js';
import { normalizeProxyUrl } from '../observability/proxy-url.js';
import type { ConfigFileContents } from './config-file.js';
import { auxiliarySignaturesSetting, timeZoneSetting } from './quota-settings.js';

const definedOnly = (env: Record<string, string | undefined>): Record<string, string> =>
  Object.fromEntries(Object.entries(env).filter((kv): kv is [string, string] => kv[1] !== undefined));

/** Every message has the same words: `expected <what is allowed>, got "<value>"`. */
const expected = (allowed: string, value: string): string => `expected ${allowed}, got ${JSON.stringify(value)}`;

/** "a, b or c" */
const either = (values: readonly string[]): string => (values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`);

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];

const bool = (def: boolean) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const word = v?.trim().toLowerCase();
      if (word === undefined || word === '') return def;
      if (TRUE_WORDS.includes(word)) return true;
      if (FALSE_WORDS.includes(word)) return false;
      ctx.addIssue({ code: 'custom', message: expected('true or false', v!) });
      return z.NEVER;
    });

/** One of a fixed list of words; the message lists them all. */
const oneOf = <const T extends readonly [string, ...string[]]>(values: T, def: T[number]) =>
  z
    .string()
    .optional()
    .transform((v, ctx): T[number] => {
      const word = v?.trim();
      if (word === undefined || word === '') return def;
      if ((values as readonly string[]).includes(word)) return word as T[number];
      ctx.addIssue({ code: 'custom', message: expected(either(values), v!) });
      return z.NEVER;
    });

const int = (def: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: expected(`an integer from ${min} to ${max}`, v) });
        return z.NEVER;
      }
      return n;
    });

const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(/[,\n]/)
      .map((s) => s.trim())
      .filter(Boolean),
  );

const url = (def: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const value = (v ?? '').trim() || def;
      try {
        const u = new URL(value);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
        return value.replace(/\/+$/, '');
      } catch {
        ctx.addIssue({ code: 'custom', message: expected('an http(s) URL', value) });
        return z.NEVER;
      }
    });

/** A proxy URL (`http://` assumed without a scheme); the value is never echoed, it may hold credentials. */
const proxyUrl = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const value = v?.trim();
    if (!value) return undefined;
    const normalized = normalizeProxyUrl(value);
    try {
      if (['http:', 'https:', 'socks:', 'socks5:'].includes(new URL(normalized).protocol)) return normalized;
    } catch {
      // reported below
    }
    ctx.addIssue({ code: 'custom', message: 'expected an http(s):// or socks5:// proxy URL (the value is not shown: it may hold a password)' });
    return z.NEVER;
  });

/** A key from the environment (DATA_KEY): at least 16 characters; only its length is ever echoed. */
const secretKey = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const value = v?.trim();
    if (!value) return undefined;
    if (value.length >= 16) return value;
    ctx.addIssue({ code: 'custom', message: `expected at least 16 characters (use a long random string), got ${value.length} characters` });
    return z.NEVER;
  });

const envSchema = z.object({
  HOST: z.string().optional().default('127.0.0.1'),
  PORT: int(8000, 0, 65535),
  KIMI_TOKENS: list,
  KIMI_BASE_URL: url('https://www.kimi.com'),
  KIMI_PROTOCOL: oneOf(['connect', 'rest', 'auto'], 'connect'),
  KIMI_CONNECT_CHAT_PATH: z.string().optional().default('kimi.gateway.chat.v1.ChatService/Chat'),
  API_KEYS: list,
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  DELETE_TEMP_CHATS: bool(true),
  CITATIONS: oneOf(['list', 'footnotes', 'none'], 'list'),
  REASONING_OUTPUT: oneOf(['reasoning_content', 'think_tags', 'none'], 'reasoning_content'),
  KEEPALIVE_INTERVAL_MS: int(15_000, 100, 600_000),
  CONVERSATION_WAIT_MS: int(30_000, 0, 600_000),
  UPSTREAM_CONNECT_TIMEOUT_MS: int(10_000, 100, 600_000),
  UPSTREAM_FIRST_BYTE_TIMEOUT_MS: int(60_000, 100, 3_600_000),
  UPSTREAM_IDLE_TIMEOUT_MS: int(90_000, 100, 3_600_000),
  UPSTREAM_TOTAL_TIMEOUT_MS: int(300_000, 1_000, 86_400_000),
  MAX_BODY_BYTES: int(10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  BODY_TIMEOUT_MS: int(30_000, 100, 3_600_000),
  MODEL_CATALOG_TTL_MS: int(10 * 60_000, 1_000, 86_400_000),
  RESPONSE_STORE_TTL_MS: int(30 * 86_400_000, 60_000, 365 * 86_400_000),
  MODEL_ALIASES: z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        return parseModelAliases(v ?? DEFAULT_MODEL_ALIASES);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  DATA_DIR: z.string().optional().default('./data'),
  STORE_URL: z.string().optional(),
  REDIS_PREFIX: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return 'kimi-proxy:';
      if (v.length <= 100) return v;
      ctx.addIssue({ code: 'custom', message: expected('1 to 100 characters', v) });
      return z.NEVER;
    }),
  CONVERSATION_REUSE: oneOf(['auto', 'off'], 'auto'),
  IMPLICIT_CONVERSATION_TTL_MS: int(30 * 60_000, 1_000, 30 * 86_400_000),
  LENGTH_CONTINUATIONS: int(3, 0, 20),
  TOOL_REPAIR_TURNS: int(1, 0, 3),
  AUXILIARY_DETECTION: bool(true),
  AUXILIARY_MODEL: z.string().optional().transform((v) => v?.trim() || undefined),
  AUXILIARY_LOCAL_TITLES: bool(false),
  AUXILIARY_SIGNATURES: auxiliarySignaturesSetting,
  TOOL_SCHEMA_MISMATCH: z.enum(['forward', 'repair'], { message: 'expected forward or repair' }).optional().default('forward'),
  TOOL_RESULT_MAX_CHARS: int(100_000, 1_000, 10_000_000),
  ACCOUNT_MAX_CONCURRENT: int(2, 1, 64),
  ACCOUNT_MIN_INTERVAL_MS: int(500, 0, 600_000),
  ACCOUNT_SELECTION: oneOf(['round-robin', 'least-in-flight', 'fill-first'], 'round-robin'),
  DAILY_BUDGET_TIMEZONE: timeZoneSetting,
  QUEUE_MAX: int(100, 0, 100_000),
  QUEUE_WAIT_MS: int(30_000, 0, 600_000),
  ACCOUNT_BREAKER_THRESHOLD: int(3, 1, 1_000),
  ACCOUNT_BREAKER_COOLOFF_MS: int(30_000, 100, 3_600_000),
  QUOTA_COOLDOWN_MS: int(3_600_000, 1_000, 7 * 86_400_000),
  QUOTA_POLL_MS: int(900_000, 0, 86_400_000),
  ACCOUNT_LEASE_MS: int(30_000, 300, 3_600_000),
  ACCOUNT_HEALTH_SYNC_MS: int(500, 0, 600_000),
  ACCOUNT_SYNC_MS: int(2_000, 50, 600_000),
  CONFIG_FILE: z.string().optional(),
  INSTANCE_ID: z.string().optional().transform((v) => v?.trim() || undefined),
  // Encryption of the Kimi tokens kept in the store (store/token-cipher.ts). Secrets: never echoed.
  DATA_KEY: secretKey,
  DATA_KEY_PREVIOUS: secretKey,
  // Observability and operations (src/observability).
  METRICS_TOKEN: z.string().optional().transform((v) => v?.trim() || undefined),
  LOG_BODIES: bool(false),
  REQUEST_LOG_MAX_ENTRIES: int(10_000, 0, 10_000_000),
  REQUEST_LOG_MAX_AGE_MS: int(7 * 86_400_000, 60_000, 3_650 * 86_400_000),
  SHUTDOWN_GRACE_MS: int(20_000, 0, 3_600_000),
  KIMI_PROXY_URL: proxyUrl,
  HTTPS_PROXY: proxyUrl,
  https_proxy: proxyUrl,
  NO_PROXY: z.string().optional(),
  no_proxy: z.string().optional(),
  // Access control (src/auth).
  ADMIN_TOKEN: z
    .string()
    .optional()
    .transform((v) => v?.trim() || undefined)
    // The value is a secret: only its length is echoed.
    .refine((v) => v === undefined || v.length >= 16, { error: (i) => `expected at least 16 characters (use a long random string), got ${String(i.input).trim().length} characters` }),
  ALLOW_NO_AUTH: bool(false),
  CORS_ORIGINS: list
    .transform((l) => l.map((o) => o.replace(/\/+$/, '')))
    .superRefine((l, ctx) => {
      const bad = l.find((o) => o !== '*' && !/^[a-z][a-z0-9+.-]*:\/\/[^/\s]+$/i.test(o));
      if (bad !== undefined) ctx.addIssue({ code: 'custom', message: expected('"*" or a comma list of origins such as https://chat.example.com', bad) });
    }),
  ADMIN_CORS: bool(false),
  ADMIN_SESSION_TTL_MS: int(12 * 3_600_000, 1_000, 30 * 86_400_000),
});

export interface Timeouts {
  connectMs: number;
  firstByteMs: number;
  idleMs: number;
  totalMs: number;
}

export interface Config {
  host: string;
  port: number;
  kimiTokens: string[];
  kimiBaseUrl: string;
  kimiProtocol: 'connect' | 'rest' | 'auto';
  connectChatPath: string;
  apiKeys: string[];
  logLevel: string;
  deleteTempChats: boolean;
  citations: 'list' | 'footnotes' | 'none';
  reasoningOutput: 'reasoning_content' | 'think_tags' | 'none';
  keepAliveMs: number;
  conversationWaitMs: number;
  timeouts: Timeouts;
  maxBodyBytes: number;
  /** A request whose head and body have not arrived within this is cut with 408. */
  bodyTimeoutMs: number;
  modelCatalogTtlMs: number;
  /** MODEL_ALIASES: client model names (Claude Code's `claude-…`) answered as one of ours. */
  modelAliases: ModelAliasRule[];
  /** How long a stored Responses API response can be read or continued (`previous_response_id`). */
  responseStoreTtlMs: number;
  dataDir: string;
  /** This instance's name in the store (default host:port): a restart under the same name releases what the crashed run held. */
  instanceId: string | undefined;
  /** Keys that encrypt the Kimi tokens kept in the store: `current` encrypts, `previous` still decrypts (rotation). */
  dataKeys: { current: string | undefined; previous: string | undefined };
  /** Store backend URL (`sqlite:`, `memory:`, `redis://…`); absent = SQLite in dataDir. */
  storeUrl: string | undefined;
  /** Key prefix in a shared Redis store (several deployments can share one Redis). */
  redisPrefix: string;
  /** Continue upstream chats when a stateless request resends a history this proxy produced. */
  conversationReuse: 'auto' | 'off';
  /** Idle time after which an implicitly reused upstream chat is deleted. */
  implicitConversationTtlMs: number;
  /** How many times a reply cut by the upstream length limit is continued transparently (REST). */
  lengthContinuations: number;
  /** Clients' background calls (titles, tags, follow-ups, search queries) answered cheaply (src/auxiliary, docs/quota.md). */
  auxiliary: {
    /** Recognise them at all. */
    enabled: boolean;
    /** Run them on this model instead of the requested one. */
    model: string | undefined;
    /** Make titles from the first words of the first user message, without calling Kimi. */
    localTitles: boolean;
    /** Signatures added to the built-in table. */
    extraSignatures: AuxiliarySignature[];
  };
  /** Emulated tool calling and JSON output (src/tools, docs/tools.md). */
  tools: {
    /** Extra upstream turns on the same chat when a call or a JSON answer cannot be used. */
    repairTurns: number;
    /** Arguments that fail the tool's schema: passed on for the client to report, or repaired first. */
    schemaMismatch: 'forward' | 'repair';
    /** A longer tool result is sent upstream as its head and tail around a note. */
    resultMaxChars: number;
  };
  accounts: {
    /** Accounts from the config file's `accounts:` list, validated. */
    fromFile: AccountEntry[];
    maxConcurrent: number;
    minIntervalMs: number;
    selection: 'round-robin' | 'least-in-flight' | 'fill-first';
    /** The time zone whose midnight starts a new day for the per-account `dailyRequests` budgets. */
    dayTimeZone: string;
    queueMax: number;
    queueWaitMs: number;
    /** Consecutive 5xx/network/timeout failures that open an account's circuit. */
    breakerThreshold: number;
    /** First open period of an account's circuit (doubles after each failed half-open probe). */
    breakerCoolOffMs: number;
    /** How long an account rests after Kimi's usage-limit answer when Kimi gives no reset time. */
    quotaCooldownMs: number;
    /** How often each account's quota is read from Kimi (0: only on demand). */
    quotaPollMs: number;
    /** Lease of a concurrency slot in the store, renewed every third of it: a crashed instance's slots free themselves after this. */
    leaseMs: number;
    /** How long an instance reuses its view of the account health other instances shared (cooldowns, circuits, invalid marks). */
    healthSyncMs: number;
    /** How often account changes made on other instances (admin API) are read back. */
    syncMs: number;
  };
  /** Observability and operations (src/observability). */
  observability: {
    /** When set, GET /metrics needs `Authorization: Bearer <token>`. */
    metricsToken: string | undefined;
    /** Log request messages (off by default: contents never reach the logs). */
    logBodies: boolean;
    requestLogMaxEntries: number;
    requestLogMaxAgeMs: number;
    /** How long running requests may take to finish on SIGTERM/SIGINT. */
    shutdownGraceMs: number;
    /** Outbound proxy for upstream calls: KIMI_PROXY_URL wins; HTTPS_PROXY honours NO_PROXY. */
    proxy: { kimiProxyUrl: string | undefined; httpsProxy: string | undefined; noProxy: string | undefined };
  };
  /** Access control (src/auth, routes/admin). */
  access: {
    /** Enables the admin API under /admin/api; absent = the admin API answers 404. */
    adminToken: string | undefined;
    /** Serve a non-loopback address without any API key (explicit opt-out of the start-up refusal). */
    allowNoAuth: boolean;
    /** Origins allowed by CORS on the client API ('*' = any); empty = no CORS. */
    corsOrigins: string[];
    /** Apply CORS_ORIGINS to /admin too. */
    adminCors: boolean;
    /** Lifetime of a dashboard login. */
    adminSessionTtlMs: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Builds the config from an environment map and, optionally, a config file's contents
 * (already read; see config-file.ts). The environment wins over the file. Throws
 * ConfigError naming every bad key.
 */
export function loadConfig(env: Record<string, string | undefined>, file: ConfigFileContents = { env: {} }): Config {
  const fromEnv = definedOnly(env);
  const merged = { ...file.env, ...fromEnv };
  const parsed = envSchema.safeParse(merged);
  // A problem with a value that came from the file names the file, so it can be found.
  const where = (key: string): string => (file.path !== undefined && key in file.env && !(key in fromEnv) ? `${file.path}: ` : '');
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${where(String(i.path[0]))}${i.path.join('.')}: ${i.message}`);
  for (const key of Object.keys(file.env)) {
    if (!(key in envSchema.shape)) problems.push(`${file.path ?? 'config file'}: ${key}: unknown setting (every setting is listed in docs/configuration.md)`);
  }
  if (parsed.success && parsed.data.DATA_KEY_PREVIOUS !== undefined && parsed.data.DATA_KEY === undefined) {
    problems.push('DATA_KEY_PREVIOUS: needs DATA_KEY (the key the stored tokens are rewritten under)');
  }
  let fromFile: AccountEntry[] = [];
  try {
    if (file.accounts !== undefined) fromFile = parseAccountEntries(file.accounts);
  } catch (err) {
    if (err instanceof AccountsConfigError) problems.push(...err.problems.map((p) => `${file.path ?? 'config file'}: ${p}`));
    else throw err;
  }
  if (parsed.success && parsed.data.ADMIN_TOKEN !== undefined && parsed.data.API_KEYS.includes(parsed.data.ADMIN_TOKEN)) {
    problems.push('ADMIN_TOKEN: must differ from every API_KEYS entry (the admin token is not a client key)');
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    host: e.HOST,
    port: e.PORT,
    kimiTokens: e.KIMI_TOKENS,
    kimiBaseUrl: e.KIMI_BASE_URL,
    kimiProtocol: e.KIMI_PROTOCOL,
    connectChatPath: e.KIMI_CONNECT_CHAT_PATH.replace(/^\/+/, ''),
    apiKeys: e.API_KEYS,
    logLevel: e.LOG_LEVEL,
    deleteTempChats: e.DELETE_TEMP_CHATS,
    citations: e.CITATIONS,
    reasoningOutput: e.REASONING_OUTPUT,
    keepAliveMs: e.KEEPALIVE_INTERVAL_MS,
    conversationWaitMs: e.CONVERSATION_WAIT_MS,
    timeouts: {
      connectMs: e.UPSTREAM_CONNECT_TIMEOUT_MS,
      firstByteMs: e.UPSTREAM_FIRST_BYTE_TIMEOUT_MS,
      idleMs: e.UPSTREAM_IDLE_TIMEOUT_MS,
      totalMs: e.UPSTREAM_TOTAL_TIMEOUT_MS,
    },
    maxBodyBytes: e.MAX_BODY_BYTES,
    bodyTimeoutMs: e.BODY_TIMEOUT_MS,
    modelCatalogTtlMs: e.MODEL_CATALOG_TTL_MS,
    modelAliases: e.MODEL_ALIASES,
    responseStoreTtlMs: e.RESPONSE_STORE_TTL_MS,
    dataDir: e.DATA_DIR,
    dataKeys: { current: e.DATA_KEY, previous: e.DATA_KEY_PREVIOUS },
    instanceId: e.INSTANCE_ID,
    storeUrl: e.STORE_URL?.trim() || undefined,
    redisPrefix: e.REDIS_PREFIX,
    conversationReuse: e.CONVERSATION_REUSE,
    implicitConversationTtlMs: e.IMPLICIT_CONVERSATION_TTL_MS,
    lengthContinuations: e.LENGTH_CONTINUATIONS,
    auxiliary: { enabled: e.AUXILIARY_DETECTION, model: e.AUXILIARY_MODEL, localTitles: e.AUXILIARY_LOCAL_TITLES, extraSignatures: e.AUXILIARY_SIGNATURES },
    tools: { repairTurns: e.TOOL_REPAIR_TURNS, schemaMismatch: e.TOOL_SCHEMA_MISMATCH, resultMaxChars: e.TOOL_RESULT_MAX_CHARS },
    accounts: {
      fromFile,
      maxConcurrent: e.ACCOUNT_MAX_CONCURRENT,
      minIntervalMs: e.ACCOUNT_MIN_INTERVAL_MS,
      selection: e.ACCOUNT_SELECTION,
      dayTimeZone: e.DAILY_BUDGET_TIMEZONE,
      queueMax: e.QUEUE_MAX,
      queueWaitMs: e.QUEUE_WAIT_MS,
      breakerThreshold: e.ACCOUNT_BREAKER_THRESHOLD,
      breakerCoolOffMs: e.ACCOUNT_BREAKER_COOLOFF_MS,
      quotaCooldownMs: e.QUOTA_COOLDOWN_MS,
      quotaPollMs: e.QUOTA_POLL_MS,
      leaseMs: e.ACCOUNT_LEASE_MS,
      healthSyncMs: e.ACCOUNT_HEALTH_SYNC_MS,
      syncMs: e.ACCOUNT_SYNC_MS,
    },
    observability: {
      metricsToken: e.METRICS_TOKEN,
      logBodies: e.LOG_BODIES,
      requestLogMaxEntries: e.REQUEST_LOG_MAX_ENTRIES,
      requestLogMaxAgeMs: e.REQUEST_LOG_MAX_AGE_MS,
      shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
      proxy: { kimiProxyUrl: e.KIMI_PROXY_URL, httpsProxy: e.HTTPS_PROXY ?? e.https_proxy, noProxy: e.NO_PROXY ?? e.no_proxy },
    },
    access: { adminToken: e.ADMIN_TOKEN, allowNoAuth: e.ALLOW_NO_AUTH, corsOrigins: e.CORS_ORIGINS, adminCors: e.ADMIN_CORS, adminSessionTtlMs: e.ADMIN_SESSION_TTL_MS },
  };
}
