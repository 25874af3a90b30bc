/**
 * Minimal typings for the parts of better-sqlite3 this folder uses. The package ships no
 * declarations of its own; keeping the surface small makes every use here explicit.
 */
declare module 'better-sqlite3' {
  namespace Database {
    interface Options {
      readonly?: boolean;
      fileMustExist?: boolean;
      /** Milliseconds to wait on a locked database before failing with SQLITE_BUSY. */
      timeout?: number;
    }

    interface RunResult {
      changes: number;
      lastInsertRowid: number | bigint;
    }

    interface Statement<Row = unknown> {
      run(...params: unknown[]): RunResult;
      get(...params: unknown[]): Row | undefined;
      all(...params: unknown[]): Row[];
    }

    interface Transaction<A extends unknown[], R> {
      (...args: A): R;
      deferred(...args: A): R;
      immediate(...args: A): R;
      exclusive(...args: A): R;
    }

    interface PragmaOptions {
      simple?: boolean;
    }
  }

  class Database {
    constructor(filename?: string, options?: Database.Options);
    readonly open: boolean;
    readonly inTransaction: boolean;
    readonly name: string;
    prepare<Row = unknown>(sql: string): Database.Statement<Row>;
    exec(sql: string): this;
    pragma(sql: string, options?: Database.PragmaOptions): unknown;
    transaction<A extends unknown[], R>(fn: (...args: A) => R): Database.Transaction<A, R>;
    close(): this;
  }

  export = Database;
}
