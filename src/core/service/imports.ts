import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { createAuditRepository } from '../../data/audit-repository.ts';
import { createImportedTokensRepository } from '../../data/imported-tokens-repository.ts';
import type { Db } from '../../data/schema.ts';
import type { UserRow } from '../../data/users-repository.ts';
import type { Administrators } from '../administrators.ts';
import { changeEvent, type Change } from '../changes.ts';
import { adminOf, type Context } from '../context.ts';
import { CsvError } from '../csv.ts';
import { newImportedTokenRow } from '../imported-tokens.ts';
import { maskPhone } from '../phone-numbers.ts';
import { PskcError, unlockPskc, type PskcKey } from '../pskc.ts';
import { open, seal } from '../secret-box.ts';
import { readTokenFile, type ImportedToken } from '../token-import.ts';
import { readUserFile, type ImportedUserFields } from '../user-import.ts';
import type { MfaServiceDependencies } from './index.ts';

/** One line of an import preview or report (SPEC A2): what it does, or why it is refused. */
export interface ImportLine {
  /** The file's line (CSV) or key package (PSKC), from 1. */
  line: number;
  /** The username or the token's serial. */
  name: string;
  action: 'add' | 'update' | 'unchanged' | 'refuse';
  reason: string | null;
  /** What an addition sets or an update changes: `displayName`, `phone`, `group`… */
  changes: string[];
}

export interface ImportReport {
  format: 'mfa-server' | 'csv' | 'pskc';
  /** Whether the lines were saved, or only previewed. */
  applied: boolean;
  lines: ImportLine[];
}

export type ImportOutcome =
  | { outcome: 'read'; report: ImportReport }
  /** The file as a whole cannot be read: a quote left open, XML that is not PSKC, a wrong key. */
  | { outcome: 'unreadable'; message: string };

/** What a file holds: users (a CSV or MFA Server's export) or OATH tokens (a seed CSV or PSKC). */
export type ImportKind = 'users' | 'tokens';

/** A file to import, and what opens an encrypted PSKC file. */
export interface ImportFile {
  kind: ImportKind;
  text: string;
  key?: Buffer;
  password?: string;
}

/** How long a preview waits for its confirmation. */
export const previewMinutes = 15;

export type StagedImport =
  | { outcome: 'staged'; id: string; report: ImportReport }
  | { outcome: 'unreadable'; message: string };

/**
 * SPEC A2 "import" (issue 13): users and OATH tokens from files, previewed line by line, then
 * saved in one transaction with an audit record each, the actor recorded. It takes "import
 * users": for a user, for the group they are in and the group the file gives them; for tokens,
 * which belong to no one yet, for every group.
 */
export interface ImportOperations {
  /**
   * Users from a plain CSV or MFA Server's export: new usernames are added (to the portal's
   * records, without a password: they sign in through the directory), known ones get the
   * file's non-empty cells. `apply: false` is the preview.
   */
  importUsers(context: Context, input: { text: string; apply: boolean }): Promise<ImportOutcome>;
  /**
   * OATH tokens from a seed CSV or PSKC, stored unassigned by serial, seeds sealed; a serial
   * already imported or on a user's token is refused. `key` (a PSKC pre-shared key) or
   * `password` (PBKDF2) opens an encrypted file.
   */
  importTokens(
    context: Context,
    input: { text: string; apply: boolean; key?: Buffer; password?: string },
  ): Promise<ImportOutcome>;
  /**
   * The admin console's preview: the file read, nothing saved, the file (and its key or
   * password) kept sealed under a new id for the acting administrator alone, for
   * `previewMinutes`, so that the confirmation saves this file and not one sent again.
   */
  stageImport(context: Context, file: ImportFile): Promise<StagedImport>;
  /**
   * Saves a staged import, once: `expired` when the id is not this administrator's, was used or
   * is too old. When the file would now do something other than its preview showed (a user
   * added meanwhile, a permission taken back), nothing is saved and the new preview is staged.
   */
  applyStagedImport(
    context: Context,
    input: { id: string },
  ): Promise<
    | { outcome: 'applied'; report: ImportReport }
    | { outcome: 'changed'; id: string; report: ImportReport }
    | { outcome: 'expired' }
  >;
}

/** The users table's columns for the fields a line sets. */
const columnOf = {
  displayName: 'display_name',
  email: 'email',
  group: 'user_group',
  language: 'language',
  phone: 'phone',
  phoneExtension: 'phone_extension',
  backupPhone: 'backup_phone',
  backupExtension: 'backup_extension',
  mobilePhone: 'mobile_phone',
} as const satisfies Record<keyof ImportedUserFields, keyof UserRow>;

type Columns = Partial<Pick<UserRow, (typeof columnOf)[keyof typeof columnOf]>>;

const phoneFields: readonly string[] = ['phone', 'backupPhone', 'mobilePhone'];

/** The fields whose columns these are, sorted, as a report names them. */
const fieldsOf = (columns: Columns) =>
  (Object.keys(columnOf) as (keyof typeof columnOf)[])
    .filter((field) => columnOf[field] in columns)
    .sort();

function columnsOf(fields: ImportedUserFields): Columns {
  const columns: Columns = {};
  for (const field of Object.keys(fields) as (keyof ImportedUserFields)[]) {
    const value = fields[field];
    if (value !== undefined) columns[columnOf[field]] = value;
  }
  return columns;
}

/** Runs `read`, turning a file that cannot be read at all into its outcome. */
function readFile<T>(read: () => T): T | { unreadable: string } {
  try {
    return read();
  } catch (error) {
    if (error instanceof CsvError || error instanceof PskcError)
      return { unreadable: error.message };
    throw error;
  }
}

export function createImportOperations(
  deps: MfaServiceDependencies,
  administrators: Administrators,
): ImportOperations {
  const { db, changes, encryptionKey } = deps;
  const now = deps.now ?? Date.now;
  const tokens = createImportedTokensRepository(db);

  async function usersNamed(usernames: readonly string[]): Promise<Map<string, UserRow>> {
    const found = new Map<string, UserRow>();
    for (let start = 0; start < usernames.length; start += 500) {
      const rows = await db
        .selectFrom('users')
        .selectAll()
        .where('username', 'in', usernames.slice(start, start + 500))
        .execute();
      for (const row of rows) found.set(row.username, row);
    }
    return found;
  }

  const mayImport = async (context: Context, target: Pick<UserRow, 'id' | 'role' | 'user_group'>) =>
    (await administrators.allowedOn(context, ['import-users'], target)).length > 0;

  const newcomer = (group: string | null) => ({ id: '', role: 'user' as const, user_group: group });

  async function readImport(context: Context, file: ImportFile, apply: boolean) {
    const { kind, text, key, password } = file;
    return kind === 'users'
      ? operations.importUsers(context, { text, apply })
      : operations.importTokens(context, {
          text,
          apply,
          ...(key ? { key } : {}),
          ...(password !== undefined ? { password } : {}),
        });
  }

  /** Keeps the file and its preview; the id also binds the sealed file to its row. */
  async function stage(context: Context, file: ImportFile, report: ImportReport) {
    const id = randomUUID();
    const time = now();
    const secrets = { text: file.text, key: file.key?.toString('hex'), password: file.password };
    await db.deleteFrom('import_previews').where('expires_at', '<=', time).execute();
    await db
      .insertInto('import_previews')
      .values({
        id,
        admin_id: adminOf(context),
        kind: file.kind,
        sealed: seal(Buffer.from(JSON.stringify(secrets)), encryptionKey, id),
        preview: JSON.stringify(report.lines),
        expires_at: time + previewMinutes * 60_000,
      })
      .execute();
    return id;
  }

  const operations: ImportOperations = {
    async stageImport(context, file) {
      const read = await readImport(context, file, false);
      if (read.outcome === 'unreadable') return read;
      return {
        outcome: 'staged',
        id: await stage(context, file, read.report),
        report: read.report,
      };
    },

    async applyStagedImport(context, { id }) {
      const admin = adminOf(context);
      const row = await db
        .selectFrom('import_previews')
        .selectAll()
        .where('id', '=', id)
        .where('expires_at', '>', now())
        .executeTakeFirst();
      if (!row || row.admin_id !== admin) return { outcome: 'expired' };
      // Once: of two confirmations sent together, only the one that deletes the row goes on.
      const deleted = await db
        .deleteFrom('import_previews')
        .where('id', '=', id)
        .executeTakeFirst();
      if (deleted.numDeletedRows === 0n) return { outcome: 'expired' };
      const secrets = JSON.parse(open(row.sealed, encryptionKey, id).toString()) as {
        text: string;
        key?: string;
        password?: string;
      };
      const file: ImportFile = {
        kind: row.kind === 'tokens' ? 'tokens' : 'users',
        text: secrets.text,
        ...(secrets.key !== undefined ? { key: Buffer.from(secrets.key, 'hex') } : {}),
        ...(secrets.password !== undefined ? { password: secrets.password } : {}),
      };
      const again = await readImport(context, file, false);
      if (again.outcome === 'unreadable') return { outcome: 'expired' };
      if (!isDeepStrictEqual(again.report.lines, JSON.parse(row.preview))) {
        return {
          outcome: 'changed',
          id: await stage(context, file, again.report),
          report: again.report,
        };
      }
      const applied = await readImport(context, file, true);
      if (applied.outcome === 'unreadable') return { outcome: 'expired' };
      return { outcome: 'applied', report: applied.report };
    },

    async importUsers(context, { text, apply }) {
      await administrators.scopeOf(context, 'import-users');
      const file = readFile(() => readUserFile(text));
      if ('unreadable' in file) return { outcome: 'unreadable', message: file.unreadable };
      const existing = await usersNamed(file.lines.flatMap((l) => (l.fields ? [l.username] : [])));
      const plan: { line: ImportLine; user?: UserRow; columns: Columns }[] = [];
      for (const read of file.lines) {
        const line: ImportLine = {
          line: read.line,
          name: read.username,
          action: 'refuse',
          reason: read.problem ?? null,
          changes: [],
        };
        plan.push({ line, columns: {} });
        if (!read.fields) continue;
        const columns = columnsOf(read.fields);
        const user = existing.get(read.username);
        const group = columns.user_group ?? user?.user_group ?? null;
        const allowed =
          (await mayImport(context, user ?? newcomer(group))) &&
          (group === (user?.user_group ?? group) || (await mayImport(context, newcomer(group))));
        if (!allowed) {
          line.reason = 'outside the groups you may import users into';
          continue;
        }
        if (!user) {
          Object.assign(line, { action: 'add', changes: fieldsOf(columns) });
          plan[plan.length - 1] = { line, columns };
          continue;
        }
        const changed = Object.fromEntries(
          Object.entries(columns).filter(
            ([column, value]) => user[column as keyof UserRow] !== value,
          ),
        ) as Columns;
        const after = { ...user, ...changed };
        if (after.backup_phone !== null && after.phone === null) {
          line.reason = 'a backup phone without a primary phone';
          continue;
        }
        const names = fieldsOf(changed);
        Object.assign(line, { action: names.length ? 'update' : 'unchanged', changes: names });
        plan[plan.length - 1] = { line, user, columns: changed };
      }
      const report: ImportReport = {
        format: file.format,
        applied: false,
        lines: plan.map((p) => p.line),
      };
      if (!apply) return { outcome: 'read', report };

      const time = now();
      const notices: { user: UserRow; change: Change }[] = [];
      await db.transaction().execute(async (trx: Db) => {
        const audit = createAuditRepository(trx);
        for (const { line, user, columns } of plan) {
          if (line.action === 'add') {
            const row = {
              id: randomUUID(),
              username: line.name,
              display_name: columns.display_name ?? '',
              email: columns.email ?? null,
              password_hash: null,
              role: 'user' as const,
              language: columns.language ?? null,
              locked_until: null,
              failure_window_start: null,
              created_at: time,
              updated_at: time,
              ...columns,
            };
            await trx.insertInto('users').values(row).execute();
            const change: Change = {
              type: 'user.created',
              reason: `imported from line ${line.line}`,
            };
            await audit.record(changeEvent(row as UserRow, change, context), time);
          } else if (line.action === 'update' && user) {
            await trx
              .updateTable('users')
              .set({ ...columns, updated_at: time })
              .where('id', '=', user.id)
              .execute();
            const numbers = line.changes.filter((c) => phoneFields.includes(c));
            const change: Change = {
              type: 'user.updated',
              reason: `${line.changes.join(', ')}, imported from line ${line.line}`,
              ...(numbers.length > 0
                ? { notice: 'factorChanged', what: 'phone', phone: maskedOf(columns) }
                : {}),
            };
            await audit.record(changeEvent({ ...user, ...columns }, change, context), time);
            if (change.notice) notices.push({ user: { ...user, ...columns }, change });
          }
        }
      });
      // SPEC N2: a number changed for the user is one they hear of, as if they had changed it.
      for (const { user, change } of notices) void changes.notify(user, change, context);
      return { outcome: 'read', report: { ...report, applied: true } };
    },

    async importTokens(context, { text, apply, key, password }) {
      await administrators.authorise(context, 'import-users', 'everyone');
      const typed: PskcKey =
        key !== undefined ? { key } : password !== undefined ? { password } : {};
      // A password's key is derived off the event loop: the portal keeps serving meanwhile.
      const given = await unlockPskc(text, typed);
      const file = readFile(() => readTokenFile(text, given));
      if ('unreadable' in file) return { outcome: 'unreadable', message: file.unreadable };
      const taken = await tokens.serialsTaken(
        file.lines.flatMap((l) => (l.token ? [l.serial] : [])),
      );
      const accepted: ImportedToken[] = [];
      const lines = file.lines.map((read): ImportLine => {
        const base = { line: read.line, name: read.serial, changes: [] };
        if (!read.token) return { ...base, action: 'refuse', reason: read.problem };
        if (taken.has(read.serial)) {
          return { ...base, action: 'refuse', reason: 'serial number imported already, or in use' };
        }
        accepted.push(read.token);
        return { ...base, action: 'add', reason: null };
      });
      const report: ImportReport = { format: file.format, applied: false, lines };
      if (!apply) return { outcome: 'read', report };
      const time = now();
      const rows = accepted.map((token) =>
        newImportedTokenRow(token, encryptionKey, time, adminOf(context)),
      );
      await db.transaction().execute(async (trx: Db) => {
        await tokens.addAll(trx, rows);
        const audit = createAuditRepository(trx);
        for (const row of rows) {
          await audit.record(
            {
              type: 'token.imported',
              result: 'success',
              reason: `${row.otp_type.toUpperCase()}, ${row.digits} digits`,
              user_id: null,
              username: null,
              display_name: null,
              email: null,
              phone: null,
              device: row.serial,
              method: 'token',
              client_ip: context.clientIp ?? null,
              admin_id: adminOf(context),
            },
            time,
          );
        }
      });
      return { outcome: 'read', report: { ...report, applied: true } };
    },
  };
  return operations;
}

function maskedOf(columns: Columns): string | null {
  const number = columns.phone ?? columns.mobile_phone ?? columns.backup_phone;
  return number ? maskPhone(number) : null;
}
