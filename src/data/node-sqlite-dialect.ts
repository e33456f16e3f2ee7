import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';

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

/** Kysely builds the same few SQL texts over and over: prepare each once. */
const statementCacheSize = 200;

/**
 * Kysely's SQLite dialect over Node's built-in `node:sqlite`, so the embedded default needs no
 * native addon. WAL lets readers and the single writer work side by side.
 */
export function createNodeSqliteDialect(path: string): SqliteDialect {
  return new SqliteDialect({
    database: (): Promise<SqliteDatabase> => {
      const database = new DatabaseSync(path);
      database.exec('PRAGMA journal_mode = WAL');
      database.exec('PRAGMA busy_timeout = 5000');
      database.exec('PRAGMA foreign_keys = ON');
      database.exec('PRAGMA synchronous = NORMAL');
      const statements = new Map<string, SqliteStatement>();
      return Promise.resolve({
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
      });
    },
  });
}
