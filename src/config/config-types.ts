/** The typed configuration the app is built from (loadConfig in config.ts produces it). */
import type { AccountEntry } from '../accounts/accounts-config.js';
import type { AuxiliarySignature } from '../auxiliary/signatures.js';
import type { ModelAliasRule } from '../models/aliases.js';

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
  /** Images and documents (src/attachments, docs/attachments.md). */
  attachments: {
    imageMaxBytes: number;
    documentMaxBytes: number;
    perMessage: number;
    requestMaxBytes: number;
    imageParseMs: number;
    documentParseMs: number;
    uploadsPerAccount: number;
    /** How long an upload is reused for the same bytes on the same account. */
    cacheTtlMs: number;
    /** Total time for fetching one attachment URL (redirects included). */
    fetchTimeoutMs: number;
    /** Non-public addresses attachment URLs may still reach (IPs or CIDR ranges); empty = public addresses only. */
    urlAllow: string[];
    /** Largest `/v1/files` upload. */
    filesMaxBytes: number;
    /** How long a `/v1/files` upload (and a conversation's kept attachment) is kept. */
    filesTtlMs: number;
  };
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
