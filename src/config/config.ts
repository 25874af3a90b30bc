/**
 * Typed configuration from the environment (and `.env`) and the config file, validated once
 * at start: the settings are in env-schema.ts, the shape in config-types.ts; this module
 * merges the sources, checks what spans several settings, and names every problem.
 */
import { AccountsConfigError, parseAccountEntries, type AccountEntry } from '../accounts/accounts-config.js';
import type { ConfigFileContents } from './config-file.js';
import type { Config } from './config-types.js';
import { envSchema } from './env-schema.js';

export type { Config, Timeouts } from './config-types.js';

const definedOnly = (env: Record<string, string | undefined>): Record<string, string> =>
  Object.fromEntries(Object.entries(env).filter((kv): kv is [string, string] => kv[1] !== undefined));

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
const MiB = 1024 * 1024;

/**
 * The body limit when MAX_BODY_BYTES is unset: room for one image at the image cap sent inline
 * (base64 makes it a third larger) plus 1 MiB of conversation, in whole MiB, and never below
 * 10 MiB. Larger files go through /v1/files or a URL, which the body limit does not bound.
 */
export function bodyLimitFor(imageMaxBytes: number): number {
  return Math.max(10 * MiB, Math.ceil((Math.ceil(imageMaxBytes / 3) * 4 + MiB) / MiB) * MiB);
}

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
    maxBodyBytes: e.MAX_BODY_BYTES ?? bodyLimitFor(e.ATTACHMENT_IMAGE_MAX_BYTES),
    bodyTimeoutMs: e.BODY_TIMEOUT_MS,
    modelCatalogTtlMs: e.MODEL_CATALOG_TTL_MS,
    modelAliases: e.MODEL_ALIASES,
    responseStoreTtlMs: e.RESPONSE_STORE_TTL_MS,
    attachments: {
      imageMaxBytes: e.ATTACHMENT_IMAGE_MAX_BYTES,
      documentMaxBytes: e.ATTACHMENT_DOCUMENT_MAX_BYTES,
      perMessage: e.ATTACHMENTS_PER_MESSAGE,
      requestMaxBytes: e.ATTACHMENT_REQUEST_MAX_BYTES,
      imageParseMs: e.ATTACHMENT_IMAGE_PARSE_MS,
      documentParseMs: e.ATTACHMENT_DOCUMENT_PARSE_MS,
      uploadsPerAccount: e.ATTACHMENT_UPLOADS_PER_ACCOUNT,
      cacheTtlMs: e.ATTACHMENT_CACHE_TTL_MS,
      fetchTimeoutMs: e.ATTACHMENT_FETCH_TIMEOUT_MS,
      urlAllow: e.ATTACHMENT_URL_ALLOW,
      filesMaxBytes: e.FILES_MAX_BYTES,
      filesTtlMs: e.FILES_TTL_MS,
    },
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
