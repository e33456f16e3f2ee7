import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { createClient } from 'redis';
import {
  configSources,
  inspectConfig,
  maskPasswords,
  projectRoot,
  sqlitePathOf,
  type ConfigEntry,
  type ConfigSources,
  type Settings,
} from '../config/index.ts';
import { directorySecretKeys } from '../config/directory.ts';
import { openDeviceSecret } from '../core/devices.ts';
import { checkDirectory } from './check-directory.ts';
import { parseEncryptionKey } from '../core/secret-box.ts';
import { latestSchemaVersion } from '../data/migrations.ts';

/** Keys whose value is a secret: shown only as set or empty. */
const secretKeys = new Set([
  'SESSION_SECRET',
  'ENCRYPTION_KEY',
  'SMTP_PASSWORD',
  'METRICS_TOKEN',
  'WEB_SERVICE_SDK_AUTHENTICATION_PASSWORD',
  'TWILIO_AUTH_TOKEN',
  'SMS_HTTP_HEADERS',
  'SMS_HTTP_INBOUND_TOKEN',
  ...directorySecretKeys,
]);

/** How a value is shown: secrets hidden, passwords inside URLs masked. */
export function shownValue(entry: Pick<ConfigEntry, 'key' | 'raw'>): string {
  if (secretKeys.has(entry.key)) return entry.raw === '' ? '(empty)' : '(set, hidden)';
  return entry.raw === '' ? '(empty)' : maskPasswords(entry.raw);
}

interface Check {
  name: string;
  /** Undefined when all is well. */
  problem?: string;
  detail: string;
}

function message(error: unknown): string {
  return maskPasswords(error instanceof Error ? error.message : String(error));
}

/** The nearest folder that exists, at or above `path`. */
function existingAncestor(path: string): string {
  let folder = path;
  while (!existsSync(folder) && dirname(folder) !== folder) folder = dirname(folder);
  return folder;
}

/** A folder the portal writes: there and writable, or creatable in a writable parent. */
function writableFolder(folder: string): string | undefined {
  if (existsSync(folder)) {
    if (!statSync(folder).isDirectory()) return `${folder} is not a folder`;
    try {
      accessSync(folder, constants.W_OK);
      return undefined;
    } catch {
      return `${folder} cannot be written by this account`;
    }
  }
  const parent = existingAncestor(folder);
  try {
    accessSync(parent, constants.W_OK);
    return undefined;
  } catch {
    return `${folder} does not exist and cannot be created in ${parent} by this account`;
  }
}

/** One sealed seed from the database, to prove the key opens it; undefined when there is none. */
async function sampleDevice(
  values: Partial<Settings>,
  sqlitePath: string | undefined,
): Promise<{ id: string; secret: string } | undefined> {
  const query = 'SELECT id, secret FROM devices LIMIT 1';
  if (sqlitePath !== undefined) {
    if (sqlitePath === ':memory:' || !existsSync(sqlitePath)) return undefined;
    const database = new DatabaseSync(sqlitePath, { readOnly: true });
    try {
      return database.prepare(query).get() as { id: string; secret: string } | undefined;
    } catch {
      return undefined;
    } finally {
      database.close();
    }
  }
  const client = new pg.Client({
    connectionString: values.DATABASE_URL,
    connectionTimeoutMillis: 5000,
  });
  try {
    await client.connect();
    const result = await client.query<{ id: string; secret: string }>(query);
    return result.rows[0];
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkKey(
  values: Partial<Settings>,
  rootDir: string,
  sqlitePath: string | undefined,
): Promise<Check> {
  const name = 'encryption key';
  let key: Buffer;
  let detail: string;
  if (values.ENCRYPTION_KEY) {
    detail = 'ENCRYPTION_KEY';
    try {
      key = parseEncryptionKey(values.ENCRYPTION_KEY);
    } catch (error) {
      return { name, detail, problem: `ENCRYPTION_KEY: ${message(error)}` };
    }
  } else {
    const file = resolve(rootDir, values.ENCRYPTION_KEY_FILE ?? '');
    detail = file;
    if (!existsSync(file)) {
      if (sqlitePath !== undefined && (sqlitePath === ':memory:' || !existsSync(sqlitePath))) {
        return { name, detail: `${file} (created with the database at the first start)` };
      }
      return {
        name,
        detail,
        problem: `there is no key at ${file}, and the database exists: its app and token seeds cannot be opened without the key it was made with (put that key file back, or set ENCRYPTION_KEY)`,
      };
    }
    try {
      key = parseEncryptionKey(readFileSync(file, 'utf8'));
    } catch (error) {
      return { name, detail, problem: `${file}: ${message(error)}` };
    }
  }
  const device = await sampleDevice(values, sqlitePath);
  if (!device) return { name, detail };
  try {
    openDeviceSecret(device, key);
    return { name, detail: `${detail} (opens the seeds in the database)` };
  } catch {
    return {
      name,
      detail,
      problem: `the key in ${detail} does not open the seeds in the database: it is not the key they were sealed with`,
    };
  }
}

function checkLogFolder(values: Partial<Settings>, rootDir: string): Check | undefined {
  if (!values.LOG_FILE_DIRECTORY) return undefined;
  const folder = resolve(rootDir, values.LOG_FILE_DIRECTORY);
  const problem = writableFolder(folder);
  return { name: 'log folder', detail: folder, ...(problem ? { problem } : {}) };
}

function schemaNote(version: string | undefined): { detail: string; problem?: string } {
  if (!version) return { detail: 'empty: the portal creates the tables when it starts' };
  if (version === latestSchemaVersion) return { detail: `schema ${version}, up to date` };
  if (version < latestSchemaVersion) {
    return {
      detail: `schema ${version}: the portal migrates it to ${latestSchemaVersion} when it starts`,
    };
  }
  return {
    detail: `schema ${version}`,
    problem: `the database has schema ${version}, newer than this release's ${latestSchemaVersion}: run the release that migrated it`,
  };
}

async function checkDatabase(
  values: Partial<Settings>,
  sqlitePath: string | undefined,
): Promise<Check | undefined> {
  const name = 'database';
  if (values.DATABASE_URL === undefined) return undefined;
  const versionQuery = 'SELECT name FROM kysely_migration ORDER BY name DESC LIMIT 1';
  if (sqlitePath !== undefined) {
    if (sqlitePath === ':memory:') return { name, detail: 'SQLite in memory' };
    if (!existsSync(sqlitePath)) {
      const problem = writableFolder(dirname(sqlitePath));
      return {
        name,
        detail: `SQLite ${sqlitePath} (created at the first start)`,
        ...(problem ? { problem } : {}),
      };
    }
    try {
      accessSync(sqlitePath, constants.R_OK | constants.W_OK);
      const folderProblem = writableFolder(dirname(sqlitePath));
      if (folderProblem)
        throw new Error(`${folderProblem} (SQLite writes its WAL beside the file)`);
      const database = new DatabaseSync(sqlitePath, { readOnly: true });
      let version: string | undefined;
      try {
        const hasTable = database
          .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kysely_migration'")
          .get();
        version = hasTable
          ? (database.prepare(versionQuery).get() as { name: string } | undefined)?.name
          : undefined;
      } finally {
        database.close();
      }
      const note = schemaNote(version);
      return { name, ...note, detail: `SQLite ${sqlitePath}, ${note.detail}` };
    } catch (error) {
      return { name, detail: `SQLite ${sqlitePath}`, problem: message(error) };
    }
  }
  const shown = maskPasswords(values.DATABASE_URL);
  const client = new pg.Client({
    connectionString: values.DATABASE_URL,
    connectionTimeoutMillis: 5000,
  });
  try {
    await client.connect();
    const table = await client.query("SELECT to_regclass('kysely_migration') AS name");
    const version = (table.rows[0] as { name: string | null } | undefined)?.name
      ? (await client.query<{ name: string }>(versionQuery)).rows[0]?.name
      : undefined;
    const note = schemaNote(version);
    return { name, ...note, detail: `PostgreSQL ${shown}, ${note.detail}` };
  } catch (error) {
    return { name, detail: `PostgreSQL ${shown}`, problem: `cannot be reached: ${message(error)}` };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkRedis(values: Partial<Settings>): Promise<Check | undefined> {
  if (!values.REDIS_URL) return undefined;
  const detail = maskPasswords(values.REDIS_URL);
  const client = createClient({
    url: values.REDIS_URL,
    socket: { connectTimeout: 5000, reconnectStrategy: false },
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return { name: 'Redis', detail };
  } catch (error) {
    return { name: 'Redis', detail, problem: `cannot be reached: ${message(error)}` };
  } finally {
    if (client.isOpen) await client.quit().catch(() => undefined);
  }
}

function checkTlsFiles(values: Partial<Settings>, rootDir: string): Check[] {
  return (['TLS_CERT_FILE', 'TLS_KEY_FILE'] as const)
    .filter((key) => values[key])
    .map((key) => {
      const file = resolve(rootDir, values[key] ?? '');
      try {
        accessSync(file, constants.R_OK);
        return { name: key, detail: file };
      } catch {
        return { name: key, detail: file, problem: `${file} cannot be read by this account` };
      }
    });
}

/**
 * `check-config`: every source the portal reads, every error in them at once, the effective
 * values with their source (secrets masked), and whether the key, the log folder, the database
 * and Redis can be reached from here. Returns the exit code: 0 when nothing is wrong.
 */
export async function runCheckConfig(sources: ConfigSources = {}): Promise<number> {
  const rootDir = sources.rootDir ?? projectRoot;
  const report = inspectConfig({ ...sources, rootDir });
  const out: string[] = [
    `Configuration of ${rootDir}, later sources winning: ${configSources.join(', ')}`,
  ];
  const width = Math.max(...report.entries.map((entry) => entry.key.length));
  for (const entry of report.entries) {
    const source = entry.source
      ? `${entry.source}${entry.alias ? `, as ${entry.alias}` : ''}`
      : 'not set';
    out.push(`  ${entry.key.padEnd(width)} = ${shownValue(entry)}  [${source}]`);
  }

  const { values } = report;
  const sqlitePath =
    values.DATABASE_URL === undefined ? undefined : sqlitePathOf(values.DATABASE_URL, rootDir);
  const checks = [
    await checkKey(values, rootDir, sqlitePath),
    checkLogFolder(values, rootDir),
    await checkDatabase(values, sqlitePath),
    await checkRedis(values),
    ...checkTlsFiles(values, rootDir),
    await checkDirectory(report.config),
  ].filter((check) => check !== undefined);
  out.push('', 'Checks:');
  for (const check of checks) {
    out.push(`  ${check.problem ? 'FAIL' : 'ok  '} ${check.name}: ${check.detail}`);
  }

  const errors = [
    ...report.errors,
    ...checks.flatMap((check) => (check.problem ? [`${check.name}: ${check.problem}`] : [])),
  ];
  out.push('');
  if (errors.length === 0) {
    out.push('No errors: the portal can start with this configuration.');
  } else {
    out.push(`${String(errors.length)} error${errors.length === 1 ? '' : 's'}:`);
    for (const error of errors) out.push(`  ${error}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return errors.length === 0 ? 0 : 1;
}
