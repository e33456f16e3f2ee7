import { resolve } from 'node:path';
import { maskPasswords, type Config } from '../config/index.ts';
import { keyFingerprint, loadEncryptionKey } from '../core/encryption-key.ts';
import { backupSqlite, restoreSqlite } from '../data/backup.ts';
import { RefusedError } from './errors.ts';

function keyFile(config: Config): string {
  return resolve(config.rootDir, config.ENCRYPTION_KEY_FILE);
}

function whereTheKeyIs(config: Config): string {
  return config.ENCRYPTION_KEY ? 'the ENCRYPTION_KEY setting' : keyFile(config);
}

/** The key that seals the seeds; never created here, since it must match the database's. */
function fingerprintOfKey(config: Config): string {
  try {
    return keyFingerprint(loadEncryptionKey(config.ENCRYPTION_KEY, keyFile(config), false));
  } catch (error) {
    throw new RefusedError(
      `${error instanceof Error ? error.message : String(error)}. A backup belongs with the key of the installation it comes from.`,
    );
  }
}

/** The SQLite file, or a refusal that says what to use for PostgreSQL instead. */
function sqlitePathOrRefuse(config: Config, command: 'backup' | 'restore'): string {
  if (config.sqlitePath === undefined) {
    const url = maskPasswords(config.DATABASE_URL);
    throw new RefusedError(
      [
        `The database is PostgreSQL: ${command} works on the embedded SQLite database only. Use PostgreSQL's own tools:`,
        `  pg_dump --format=custom --file=mfa-portal.dump "${url}"`,
        `  pg_restore --clean --if-exists --no-owner --dbname="${url}" mfa-portal.dump`,
        `(the password from PGPASSWORD or ~/.pgpass). Keep the encryption key (${whereTheKeyIs(config)}) with every dump: without it the app and token seeds in it are lost.`,
      ].join('\n'),
    );
  }
  if (config.sqlitePath === ':memory:') {
    throw new RefusedError(
      `The database is in memory (DATABASE_URL=sqlite::memory:): nothing to ${command}.`,
    );
  }
  return config.sqlitePath;
}

/** `backup <file>` (SPEC O4): a consistent copy of the SQLite database, also while portals serve. */
export function runBackup(config: Config, file: string): void {
  const databasePath = sqlitePathOrRefuse(config, 'backup');
  const target = resolve(file);
  const info = backupSqlite({
    databasePath,
    file: target,
    keyFingerprint: fingerprintOfKey(config),
  });
  process.stdout.write(
    [
      `Backed up ${databasePath} to ${target} (schema ${info.schemaVersion}).`,
      `The encryption key is not in the backup: back up ${whereTheKeyIs(config)} separately, and keep it apart from the backups.`,
      'Losing the key loses every app and token seed: each user would have to set up their app or token again.',
      '',
    ].join('\n'),
  );
}

/** `restore <file>`: a backup of this schema version and key, in place of the SQLite database. */
export function runRestore(config: Config, file: string): void {
  const databasePath = sqlitePathOrRefuse(config, 'restore');
  const source = resolve(file);
  const info = restoreSqlite({
    file: source,
    databasePath,
    keyFingerprint: fingerprintOfKey(config),
  });
  process.stdout.write(
    [
      `Restored ${databasePath} from ${source}, made ${new Date(info.createdAt).toISOString()} (schema ${info.schemaVersion}).`,
      'Sessions are not kept in backups: everyone signs in again.',
      '',
    ].join('\n'),
  );
}
