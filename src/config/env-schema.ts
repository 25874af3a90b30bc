/**
 * Every environment setting with its default and allowed values, as one zod schema. Names
 * are stable: deployments and docs depend on them. docs/configuration.md lists them all.
 */
import { z } from 'zod';
import { DEFAULT_MODEL_ALIASES, parseModelAliases } from '../models/aliases.js';
import { bool, expected, int, list, oneOf, optionalInt, proxyUrl, secretKey, url } from './env-values.js';
import { attachmentSettings } from './attachment-settings.js';
import { auxiliarySignaturesSetting, timeZoneSetting } from './quota-settings.js';

export const envSchema = z.object({
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
  // Unset: large enough for one image at ATTACHMENT_IMAGE_MAX_BYTES sent inline (config.ts).
  MAX_BODY_BYTES: optionalInt(1024, 1024 * 1024 * 1024),
  BODY_TIMEOUT_MS: int(30_000, 100, 3_600_000),
  MODEL_CATALOG_TTL_MS: int(10 * 60_000, 1_000, 86_400_000),
  RESPONSE_STORE_TTL_MS: int(30 * 86_400_000, 60_000, 365 * 86_400_000),
  ...attachmentSettings,
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
