import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
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
}

/** Opens the database named by DATABASE_URL: `sqlite:<path>` (default) or `postgres://…`. */
export function openDatabase(
  databaseUrl: string,
  sqlitePath?: string,
  onConnectionError: (error: Error) => void = () => undefined,
): Database {
  let db: Db;
  let engine: Engine;
  if (databaseUrl.startsWith('sqlite:')) {
    const path = sqlitePath ?? databaseUrl.slice('sqlite:'.length);
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Kysely({ dialect: createNodeSqliteDialect(path) });
    engine = 'sqlite';
  } else {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
    // An idle connection the server drops must not crash the process; the next query reconnects.
    pool.on('error', onConnectionError);
    db = new Kysely({ dialect: new PostgresDialect({ pool }) });
    engine = 'postgres';
  }
  return {
    db,
    engine,
    close: () => db.destroy(),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
  };
}
