import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { latestSchemaVersion } from './migrations.ts';
import { addFunctions } from './node-sqlite-dialect.ts';
import { runningPortals } from './portal-instances.ts';
import type { PortalInstancesTable } from './schema.ts';

/** A backup or restore refused, with what to do instead. */
export class BackupError extends Error {
  override name = 'BackupError';
}

/** What a backup records about itself, in a table of its own that a restore removes. */
export interface BackupInfo {
  /** The newest migration the copied database had. */
  schemaVersion: string;
  /** `keyFingerprint` of the encryption key that sealed its seeds. */
  keyFingerprint: string;
  createdAt: number;
}

const format = 'mfa-portal sqlite backup 1';
const infoTable = 'mfa_portal_backup';

/**
 * Left out of a backup: sessions (a session signed out after the backup would come back to life
 * with a restore), changes in progress that only those sessions refer to, and the heartbeats of
 * the portals that served while it was taken.
 */
const notBackedUp = ['sessions', 'drafts', 'portal_instances'];

function schemaVersionOf(database: DatabaseSync): string {
  const row = database
    .prepare('SELECT name FROM kysely_migration ORDER BY name DESC LIMIT 1')
    .get() as { name: string } | undefined;
  return row?.name ?? '';
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A file beside `path`, in the same folder so that a rename or link puts it in place at once. */
function besidePath(path: string, purpose: string): string {
  return join(dirname(path), `.${basename(path)}.${randomUUID()}.${purpose}`);
}

/**
 * A consistent copy of the live SQLite database while portals serve from it (SPEC O4): SQLite's
 * `VACUUM INTO` reads one snapshot, WAL included, without stopping writers. The copy records
 * its schema version and the fingerprint of the encryption key, and never replaces a file.
 */
export function backupSqlite(options: {
  databasePath: string;
  file: string;
  keyFingerprint: string;
  now?: number;
}): BackupInfo {
  const { databasePath, file } = options;
  if (!existsSync(databasePath)) throw new BackupError(`There is no database at ${databasePath}.`);
  if (existsSync(file)) {
    throw new BackupError(`${file} exists already: a backup never overwrites a file.`);
  }
  if (!existsSync(dirname(file))) {
    throw new BackupError(`The folder ${dirname(file)} does not exist.`);
  }
  const partial = besidePath(file, 'partial');
  try {
    const source = new DatabaseSync(databasePath);
    try {
      source.exec('PRAGMA busy_timeout = 5000');
      addFunctions(source); // VACUUM INTO fills the indexes again, some with unicode_lower()
      source.prepare('VACUUM INTO ?').run(partial);
    } finally {
      source.close();
    }
    const copy = new DatabaseSync(partial);
    addFunctions(copy);
    let info: BackupInfo;
    try {
      info = {
        schemaVersion: schemaVersionOf(copy),
        keyFingerprint: options.keyFingerprint,
        createdAt: options.now ?? Date.now(),
      };
      const tables = new Set(
        (copy.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
          name: string;
        }[]).map((row) => row.name),
      );
      copy.exec('BEGIN');
      for (const table of notBackedUp) if (tables.has(table)) copy.exec(`DELETE FROM ${table}`);
      copy.exec(`CREATE TABLE ${infoTable} (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
      const insert = copy.prepare(`INSERT INTO ${infoTable} (key, value) VALUES (?, ?)`);
      insert.run('format', format);
      insert.run('schema_version', info.schemaVersion);
      insert.run('key_fingerprint', info.keyFingerprint);
      insert.run('created_at', String(info.createdAt));
      copy.exec('COMMIT');
      copy.exec('VACUUM');
    } finally {
      copy.close();
    }
    // It holds password hashes and sealed seeds: for this account only, as data/ is.
    chmodSync(partial, 0o600);
    syncFile(partial);
    try {
      // A link, unlike a rename, fails when the name was taken meanwhile.
      linkSync(partial, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new BackupError(`${file} exists already: a backup never overwrites a file.`);
      }
      throw error;
    }
    return info;
  } finally {
    rmSync(partial, { force: true });
  }
}

/** What a backup file says of itself; refuses a file that is not one. */
export function inspectBackup(file: string): BackupInfo {
  if (!existsSync(file)) throw new BackupError(`There is no file ${file}.`);
  const notABackup = new BackupError(`${file} is not a backup made by mfa-portal backup.`);
  let database: DatabaseSync;
  try {
    database = new DatabaseSync(file, { readOnly: true });
  } catch {
    throw notABackup;
  }
  try {
    let values: Map<string, string>;
    try {
      const rows = database.prepare(`SELECT key, value FROM ${infoTable}`).all() as {
        key: string;
        value: string;
      }[];
      values = new Map(rows.map((row) => [row.key, row.value]));
    } catch {
      throw notABackup;
    }
    if (values.get('format') !== format) throw notABackup;
    const check = database.prepare('PRAGMA quick_check').get() as { quick_check: string };
    const schemaVersion = values.get('schema_version') ?? '';
    if (check.quick_check !== 'ok' || schemaVersionOf(database) !== schemaVersion) {
      throw new BackupError(`${file} is damaged: it cannot be restored.`);
    }
    return {
      schemaVersion,
      keyFingerprint: values.get('key_fingerprint') ?? '',
      createdAt: Number(values.get('created_at')),
    };
  } finally {
    database.close();
  }
}

/** The portals that serve on the database at `path`, by their heartbeats. */
export function portalsServing(path: string, now = Date.now()): PortalInstancesTable[] {
  if (!existsSync(path)) return [];
  const database = new DatabaseSync(path);
  try {
    database.exec('PRAGMA busy_timeout = 5000');
    const rows = database
      .prepare('SELECT id, host, pid, started_at, seen_at FROM portal_instances')
      .all() as unknown as PortalInstancesTable[];
    return runningPortals(rows, now);
  } catch (error) {
    // A database from before heartbeats, or one too damaged to read: nothing says a portal runs.
    if ((error as { code?: string }).code === 'ERR_SQLITE_ERROR') return [];
    throw error;
  } finally {
    database.close();
  }
}

/**
 * Puts a backup in place of the database at `databasePath`: only a backup of this schema
 * version, made with this encryption key, and only while no portal serves on that database. The
 * copy is written beside the database and renamed over it, so that the database is at every
 * moment either the old one or the restored one; the old WAL and its index go first, since
 * SQLite would replay an old WAL into the new file.
 */
export function restoreSqlite(options: {
  file: string;
  databasePath: string;
  keyFingerprint: string;
  now?: number;
}): BackupInfo {
  const { file, databasePath } = options;
  const now = options.now ?? Date.now();
  const info = inspectBackup(file);
  if (info.schemaVersion !== latestSchemaVersion) {
    throw new BackupError(
      `${file} has schema version ${info.schemaVersion}, and this release of the portal has ${latestSchemaVersion}: restore it with the release that made it (a newer release then migrates it when it starts).`,
    );
  }
  if (info.keyFingerprint !== options.keyFingerprint) {
    throw new BackupError(
      `${file} was made with another encryption key: with this one its app and token seeds could not be opened. Put the key of the installation it comes from in place (ENCRYPTION_KEY_FILE or ENCRYPTION_KEY), then restore again.`,
    );
  }
  const serving = portalsServing(databasePath, now);
  if (serving.length > 0) {
    const list = serving
      .map(
        (p) =>
          `${p.host} (process ${String(p.pid)}, seen ${String(Math.round((now - p.seen_at) / 1000))} s ago)`,
      )
      .join(', ');
    throw new BackupError(
      `A portal is serving on ${databasePath}: ${list}. Stop it first, then restore again.`,
    );
  }

  mkdirSync(dirname(databasePath), { recursive: true });
  const restoring = besidePath(databasePath, 'restoring');
  try {
    copyFileSync(file, restoring);
    const copy = new DatabaseSync(restoring);
    addFunctions(copy);
    try {
      copy.exec(`DROP TABLE ${infoTable}`);
    } finally {
      copy.close();
    }
    chmodSync(restoring, 0o600);
    syncFile(restoring);
    rmSync(`${databasePath}-wal`, { force: true });
    rmSync(`${databasePath}-shm`, { force: true });
    renameSync(restoring, databasePath);
  } finally {
    rmSync(restoring, { force: true });
  }
  return info;
}
