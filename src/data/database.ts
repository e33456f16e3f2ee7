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
  /** Calls `observer` with the SQL of each statement run from now on, until the returned stop. */
  observe(observer: (sql: string) => void): () => void;
}

/** Opens the database named by DATABASE_URL: `sqlite:<path>` (default) or `postgres://…`. */
export function openDatabase(
  databaseUrl: string,
  sqlitePath?: string,
  onConnectionError: (error: Error) => void = () => undefined,
): Database {
  let db: Db;
  let engine: Engine;
  const observers = new Set<(sql: string) => void>();
  const log = (event: LogEvent) => {
    for (const observer of observers) observer(event.query.sql);
  };
  if (databaseUrl.startsWith('sqlite:')) {
    const path = sqlitePath ?? databaseUrl.slice('sqlite:'.length);
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Kysely({ dialect: createNodeSqliteDialect(path), log });
    engine = 'sqlite';
  } else {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
    // An idle connection the server drops must not crash the process; the next query reconnects.
    pool.on('error', onConnectionError);
    db = new Kysely({ dialect: new PostgresDialect({ pool }), log });
    engine = 'postgres';
  }
  return {
    db,
    engine,
    close: () => db.destroy(),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    observe(observer) {
      observers.add(observer);
      return () => observers.delete(observer);
    },
  };
}
