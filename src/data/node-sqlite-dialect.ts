import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import {
  SqliteAdapter,
  SqliteDialect,
  sql,
  type DialectAdapter,
  type Kysely,
  type SqliteDatabase,
  type SqliteStatement,
} from 'kysely';

function toSqlite(value: unknown): SQLInputValue {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === undefined) return null;
  if (value instanceof Date) return value.getTime();
  return value as SQLInputValue;
}

function bind(parameters: readonly unknown[]): SQLInputValue[] {
  return parameters.map(toSqlite);
}

function wrapStatement(statement: StatementSync): SqliteStatement {
  return {
    reader: statement.columns().length > 0,
    all: (parameters) => statement.all(...bind(parameters)),
    run: (parameters) => statement.run(...bind(parameters)),
    iterate: (parameters) => statement.iterate(...bind(parameters)),
  };
}

/** How long a statement waits for another process's write before it fails, in ms. */
const busyTimeout = 5000;
/** How long an instance waits for another one's migrations to finish, in ms. */
const migrationLockTimeout = 10 * 60_000;

/**
 * Kysely's SQLite adapter takes no migration lock: it counts on one connection in one process,
 * so two instances starting together on a fresh file both create the tables ("table already
 * exists"). Here the migrations run inside `BEGIN IMMEDIATE`, which holds SQLite's write lock
 * for the whole file: the next instance waits, then reads that nothing is left to do. The
 * migrator runs without a transaction of its own on SQLite, so the lock's transaction is the
 * only one; it commits what ran, as statements outside a transaction would.
 */
class NodeSqliteAdapter extends SqliteAdapter {
  #locked = false;

  override async acquireMigrationLock(db: Kysely<unknown>): Promise<void> {
    await sql.raw(`PRAGMA busy_timeout = ${migrationLockTimeout}`).execute(db);
    await sql`BEGIN IMMEDIATE`.execute(db);
    this.#locked = true;
  }

  override async releaseMigrationLock(db: Kysely<unknown>): Promise<void> {
    try {
      if (this.#locked) await sql`COMMIT`.execute(db);
    } finally {
      this.#locked = false;
      await sql.raw(`PRAGMA busy_timeout = ${busyTimeout}`).execute(db);
    }
  }
}

/**
 * Another process opening a new file at the same moment can make SQLite refuse the switch to
 * WAL at once, without waiting (it would risk a deadlock): try again until the busy timeout.
 */
async function switchToWal(database: DatabaseSync): Promise<void> {
  const giveUpAt = Date.now() + busyTimeout;
  for (;;) {
    try {
      database.exec('PRAGMA journal_mode = WAL');
      return;
    } catch (error) {
      const busy = (error as { errcode?: number }).errcode === 5; // SQLITE_BUSY
      if (!busy || Date.now() > giveUpAt) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

class NodeSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new NodeSqliteAdapter();
  }
}

/** Kysely builds the same few SQL texts over and over: prepare each once. */
const statementCacheSize = 200;

/**
 * The functions the schema needs beside SQLite's own, on every connection that writes: the
 * indexes of migration 0020 hold `unicode_lower()`, so a connection without it cannot change
 * the users (SQLite says "no such function"), rather than fill those indexes differently.
 * - `unicode_lower(text)`: Unicode lower case, as PostgreSQL's lower(); SQLite's own knows only
 *   ASCII, and a search for "ÉLODIE" must find "élodie" on both databases (SPEC A2).
 */
export function addFunctions(database: DatabaseSync): void {
  database.function('unicode_lower', { deterministic: true }, (value) =>
    typeof value === 'string' ? value.normalize('NFC').toLowerCase() : value,
  );
}

/**
 * Kysely's SQLite dialect over Node's built-in `node:sqlite`, so the embedded default needs no
 * native addon. WAL lets readers and the single writer work side by side; migrations hold the
 * write lock, so that instances starting together run each migration once.
 */
export function createNodeSqliteDialect(path: string): SqliteDialect {
  return new NodeSqliteDialect({
    database: async (): Promise<SqliteDatabase> => {
      const database = new DatabaseSync(path);
      database.exec(`PRAGMA busy_timeout = ${busyTimeout}`);
      await switchToWal(database);
      database.exec('PRAGMA foreign_keys = ON');
      database.exec('PRAGMA synchronous = NORMAL');
      addFunctions(database);
      const statements = new Map<string, SqliteStatement>();
      return {
        close: () => {
          statements.clear();
          database.close();
        },
        prepare: (sql) => {
          let statement = statements.get(sql);
          if (!statement) {
            statement = wrapStatement(database.prepare(sql));
            if (statements.size >= statementCacheSize) {
              statements.delete(statements.keys().next().value ?? '');
            }
            statements.set(sql, statement);
          }
          return statement;
        },
      };
    },
  });
}
