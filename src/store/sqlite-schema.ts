/**
 * SQLite schema as an ordered list of migrations. A migration is never edited once
 * released: a schema change is a new entry with the next version.
 */
import type Database from 'better-sqlite3';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
      CREATE TABLE conversations (
        owner TEXT NOT NULL,
        id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        protocol TEXT NOT NULL,
        model TEXT NOT NULL,
        upstream_chat_id TEXT NOT NULL,
        last_assistant_message_id TEXT,
        transcript TEXT NOT NULL,
        implicit INTEGER,
        fingerprint TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (owner, id)
      );
      CREATE INDEX conversations_owner_updated ON conversations (owner, updated_at);
      CREATE INDEX conversations_updated ON conversations (updated_at);
      CREATE INDEX conversations_fingerprint ON conversations (owner, fingerprint, updated_at)
        WHERE fingerprint IS NOT NULL;
      CREATE INDEX conversations_implicit_idle ON conversations (implicit, updated_at);

      CREATE TABLE pending_deletions (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        protocol TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        due_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        hidden_until INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX pending_deletions_due ON pending_deletions (due_at);

      CREATE TABLE account_state (
        account_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );

      CREATE TABLE locks (
        key TEXT PRIMARY KEY,
        token TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );

      CREATE TABLE slots (
        key TEXT NOT NULL,
        token TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (key, token)
      );
      CREATE INDEX slots_expires ON slots (expires_at);

      CREATE TABLE start_reservations (
        key TEXT PRIMARY KEY,
        last_start INTEGER NOT NULL
      );

      CREATE TABLE counters (
        key TEXT PRIMARY KEY,
        value INTEGER NOT NULL,
        expires_at INTEGER
      );
      CREATE INDEX counters_expires ON counters (expires_at) WHERE expires_at IS NOT NULL;

      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER,
        allowed_models TEXT,
        rate_limit_per_minute INTEGER,
        max_concurrent_streams INTEGER,
        usage_requests INTEGER NOT NULL DEFAULT 0,
        usage_prompt_tokens INTEGER NOT NULL DEFAULT 0,
        usage_completion_tokens INTEGER NOT NULL DEFAULT 0,
        usage_last_used_at INTEGER
      );

      CREATE TABLE request_log (
        id TEXT PRIMARY KEY,
        at INTEGER NOT NULL,
        request_id TEXT NOT NULL,
        key_name TEXT,
        model TEXT,
        account_name TEXT,
        protocol TEXT,
        conversation_id TEXT,
        stream INTEGER NOT NULL,
        status INTEGER NOT NULL,
        ttfb_ms INTEGER,
        duration_ms INTEGER NOT NULL,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        error_code TEXT,
        upstream_code TEXT
      );
      CREATE INDEX request_log_at ON request_log (at);
    `,
  },
  {
    version: 2,
    name: 'responses',
    sql: `
      CREATE TABLE responses (
        owner TEXT NOT NULL,
        id TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (owner, id)
      );
      CREATE INDEX responses_expires ON responses (expires_at);
    `,
  },
  {
    version: 3,
    name: 'request log: failed attempts',
    sql: `ALTER TABLE request_log ADD COLUMN failed_attempts TEXT;`,
  },
  {
    version: 4,
    name: 'request log marks auxiliary calls',
    sql: `ALTER TABLE request_log ADD COLUMN auxiliary TEXT;`,
  },
];

/** The version a database has once every known migration ran. */
export const SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/**
 * Brings `db` up to SCHEMA_VERSION. Each migration runs in its own IMMEDIATE transaction,
 * re-checking whether it is still needed once the write lock is held, so two processes
 * opening the same file at once apply it exactly once. Returns the versions applied now.
 */
export function migrate(db: Database, now: number = Date.now()): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER)');
  const isApplied = db.prepare<{ one: number }>('SELECT 1 AS one FROM schema_migrations WHERE version = ?');
  const highest = db.prepare<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
  const record = db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');

  const found = highest.get()?.v ?? 0;
  if (found > SCHEMA_VERSION) {
    // An older build must not write into a schema it does not understand.
    throw new Error(`database schema version ${found} is newer than this build supports (${SCHEMA_VERSION})`);
  }

  const applied: number[] = [];
  const apply = db.transaction((m: Migration) => {
    if (isApplied.get(m.version)) return;
    db.exec(m.sql);
    record.run(m.version, now);
    applied.push(m.version);
  });
  for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) apply.immediate(m);
  return applied;
}
