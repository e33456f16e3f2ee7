import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect, sql, type LogEvent } from 'kysely';
import pg from 'pg';
import { createNodeSqliteDialect } from './node-sqlite-dialect.ts';
import type { Db } from './schema.ts';

// Epoch milliseconds live in bigint columns; they fit a JavaScript number exactly.
pg.types.setTypeParser(pg.types.builtins.INT8, Number);

export type Engine = 'sqlite' | 'postgres';

export interface Database {
  db: Db;
  engine: Engine;
  close(): Promise<void>;
  ping(): Promise<void>;
  /**
   * Runs `work` where no statement is cut short: a migration may take longer than a request may
   * wait. On PostgreSQL on a connection of its own, on SQLite on the one file as ever.
   */
  withoutQueryTimeout<T>(work: (db: Db) => Promise<T>): Promise<T>;
  /** Calls `observer` with the SQL of each statement run from now on, until the returned stop. */
  observe(observer: (sql: string) => void): () => void;
}

/**
 * How long a request waits for PostgreSQL: to connect, or for a free connection, and for the
 * answer to a statement. A database that went silent then fails the request with the
 * "temporarily unavailable" page instead of holding it (SPEC O5).
 */
const postgresTimeoutMs = 2000;

/** Opens the database named by DATABASE_URL: `sqlite:<path>` (default) or `postgres://…`. */
export function openDatabase(
  databaseUrl: string,
  sqlitePath?: string,
  onConnectionError: (error: Error) => void = () => undefined,
): Database {
  let db: Db;
  let engine: Engine;
  let withoutQueryTimeout: Database['withoutQueryTimeout'];
  const observers = new Set<(sql: string) => void>();
  const log = (event: LogEvent) => {
    for (const observer of observers) observer(event.query.sql);
  };
  if (databaseUrl.startsWith('sqlite:')) {
    const path = sqlitePath ?? databaseUrl.slice('sqlite:'.length);
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const file: Db = new Kysely({ dialect: createNodeSqliteDialect(path), log });
    db = file;
    engine = 'sqlite';
    withoutQueryTimeout = (work) => work(file);
  } else {
    const pool = new pg.Pool({
      connectionString: databaseUrl,
      max: 10,
      connectionTimeoutMillis: postgresTimeoutMs,
      query_timeout: postgresTimeoutMs,
    });
    // An idle connection the server drops must not crash the process; the next query reconnects.
    pool.on('error', onConnectionError);
    db = new Kysely({ dialect: new PostgresDialect({ pool }), log });
    engine = 'postgres';
    withoutQueryTimeout = async (work) => {
      const single = new pg.Pool({ connectionString: databaseUrl, max: 1 });
      single.on('error', onConnectionError);
      const unhurried: Db = new Kysely({ dialect: new PostgresDialect({ pool: single }), log });
      try {
        return await work(unhurried);
      } finally {
        await unhurried.destroy();
      }
    };
  }
  return {
    db,
    engine,
    close: () => db.destroy(),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    withoutQueryTimeout,
    observe(observer) {
      observers.add(observer);
      return () => observers.delete(observer);
    },
  };
}
