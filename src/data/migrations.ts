import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Migrator,
  PostgresAdapter,
  sql,
  type Kysely,
  type Migration,
  type MigrationResultSet,
} from 'kysely';
import { projectRoot } from '../config/index.ts';

/** Migrations live in code, one set for SQLite and PostgreSQL. */
const migrations: Record<string, Migration> = {
  '0001_users_sessions': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull().unique())
        .addColumn('display_name', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('email', 'text')
        .addColumn('password_hash', 'text')
        .addColumn('role', 'text', (c) => c.notNull().defaultTo('user'))
        .addColumn('language', 'text')
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('failed_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('locked_until', 'bigint')
        .addColumn('failure_window_start', 'bigint')
        .addColumn('failure_window_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('users_role').on('users').column('role').execute();

      await db.schema
        .createTable('sessions')
        .addColumn('sid', 'text', (c) => c.primaryKey())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_expires_at').on('sessions').column('expires_at').execute();

      await db.schema
        .createTable('app_secrets')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0002_methods_settings_audit': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- schema changes predate the types
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      for (const [column, type] of [
        ['default_method', 'text'],
        ['pin_hash', 'text'],
        ['phone', 'text'],
        ['phone_extension', 'text'],
        ['backup_phone', 'text'],
        ['backup_extension', 'text'],
        ['mobile_phone', 'text'],
        ['enrolled_at', 'bigint'],
      ] as const) {
        await db.schema.alterTable('users').addColumn(column, type).execute();
      }
      await db.schema
        .alterTable('users')
        .addColumn('pin_change_required', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();

      await db.schema
        .createTable('devices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('serial', 'text')
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('otp_type', 'text', (c) => c.notNull())
        .addColumn('algorithm', 'text', (c) => c.notNull())
        .addColumn('digits', 'integer', (c) => c.notNull())
        .addColumn('period', 'integer', (c) => c.notNull())
        .addColumn('counter', 'bigint')
        .addColumn('last_step', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('devices_user').on('devices').column('user_id').execute();

      await db.schema
        .createTable('security_questions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('language', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema
        .createTable('security_answers')
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('question_id', 'text', (c) => c.notNull().references('security_questions.id'))
        .addColumn('answer_hash', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('security_answers_pk', ['user_id', 'question_id'])
        .execute();
      const shipped = JSON.parse(
        readFileSync(join(projectRoot, 'config', 'security-questions.json'), 'utf8'),
      ) as Record<string, string[]>;
      const questions = Object.entries(shipped).flatMap(([language, texts]) =>
        texts.map((text, position) => ({ id: randomUUID(), language, text, position, active: 1 })),
      );
      await db.insertInto('security_questions').values(questions).execute();

      await db.schema
        .createTable('audit_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('occurred_at', 'bigint', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('result', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('user_id', 'text')
        .addColumn('username', 'text')
        .addColumn('display_name', 'text')
        .addColumn('email', 'text')
        .addColumn('phone', 'text')
        .addColumn('device', 'text')
        .addColumn('method', 'text')
        .addColumn('server_name', 'text', (c) => c.notNull())
        .addColumn('server_ip', 'text')
        .addColumn('client_ip', 'text')
        .addColumn('admin_id', 'text')
        .execute();
      await db.schema
        .createIndex('audit_events_user_time')
        .on('audit_events')
        .columns(['user_id', 'occurred_at'])
        .execute();
      await db.schema.createIndex('audit_events_time').on('audit_events').column('occurred_at').execute();
    },
  },
  '0003_phone_verifications': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- schema changes predate the types
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('verifications')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('phone', 'text', (c) => c.notNull())
        .addColumn('extension', 'text')
        .addColumn('backup_phone', 'text')
        .addColumn('backup_extension', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('pin_hash', 'text')
        .addColumn('code_hash', 'text')
        .addColumn('language', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('verifications_phone')
        .on('verifications')
        .columns(['phone', 'status'])
        .execute();

      await db.schema
        .createTable('simulator_messages')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('to_number', 'text', (c) => c.notNull())
        .addColumn('extension', 'text')
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('verification_id', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0004_bypasses': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- schema changes predate the types
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('bypasses')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('issued_by', 'text', (c) => c.notNull())
        .addColumn('admin_id', 'text')
        .addColumn('reason', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addColumn('cancelled_at', 'bigint')
        .execute();
      await db.schema.createIndex('bypasses_user').on('bypasses').column('user_id').execute();
    },
  },
  '0005_phone_sends': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- schema changes predate the types
    async up(db: Kysely<any>) {
      // No foreign keys: a deleted user or verification must not give its sends back.
      await db.schema
        .createTable('phone_sends')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('verification_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('phone', 'text', (c) => c.notNull())
        .addColumn('client_ip', 'text')
        .addColumn('sent_at', 'bigint', (c) => c.notNull())
        .execute();
      for (const column of ['user_id', 'phone', 'client_ip'] as const) {
        await db.schema
          .createIndex(`phone_sends_${column}`)
          .on('phone_sends')
          .columns([column, 'sent_at'])
          .execute();
      }
    },
  },
  '0006_drafts': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- schema changes predate the types
    async up(db: Kysely<any>) {
      // A change in progress (User Setup, a new device, new phone numbers), owned by the core and
      // referred to by id: nothing of it lives in the browser's session (SPEC §2, S7).
      await db.schema
        .createTable('drafts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('drafts_user_id').on('drafts').column('user_id').execute();
    },
  },
  '0007_portal_instances': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- schema changes predate the types
    async up(db: Kysely<any>) {
      // Each serving portal's heartbeat, so that `restore` can tell a running portal from a
      // crashed one (src/data/portal-instances.ts).
      await db.schema
        .createTable('portal_instances')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('seen_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0008_shipped_question_texts': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- schema changes predate the types
    async up(db: Kysely<any>) {
      // The language review (2026-12): French typography (a narrow no-break space before ? and
      // !) and neutral wording. Only a text still as shipped changes; its answers stay valid.
      const revised: [language: string, shipped: string, now: string][] = [
        ['fr', 'Comment s’appelait votre premier animal de compagnie ?', 'Comment s’appelait votre premier animal de compagnie ?'],
        ['fr', 'Dans quelle ville vos parents se sont-ils rencontrés ?', 'Dans quelle ville vos parents se sont-ils rencontrés ?'],
        ['fr', 'Comment s’appelait votre première école ?', 'Comment s’appelait votre première école ?'],
        ['fr', 'Quel est le prénom de votre cousin ou cousine le plus âgé ?', 'Quel est le prénom de l’aîné(e) de vos cousins ?'],
        ['fr', 'De quelle marque était votre premier vélo ou votre première voiture ?', 'De quelle marque était votre premier vélo ou votre première voiture ?'],
        ['fr', 'Dans quelle rue habitiez-vous à l’âge de dix ans ?', 'Dans quelle rue habitiez-vous à l’âge de dix ans ?'],
        ['fr', 'Quel était votre surnom d’enfance ?', 'Quel était votre surnom d’enfance ?'],
        ['fr', 'Comment s’appelle l’hôpital où vous êtes né ?', 'Dans quel hôpital êtes-vous né(e) ?'],
      ];
      for (const [language, shipped, now] of revised) {
        await db
          .updateTable('security_questions')
          .set({ text: now })
          .where('language', '=', language)
          .where('text', '=', shipped)
          .execute();
      }
    },
  },
  '0009_asked_questions': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- schema changes predate the types
    async up(db: Kysely<any>) {
      // The questions picked for an account stay until they are answered: signing in again
      // cannot re-roll them (SPEC M6).
      await db.schema.alterTable('users').addColumn('asked_questions', 'text').execute();
    },
  },
  '0010_admin_grants': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- schema changes predate the types
    async up(db: Kysely<any>) {
      // SPEC A1: administrators with scoped permissions. Every administrator so far could do
      // everything, and keeps every permission, for every group.
      await db.schema.alterTable('users').addColumn('user_group', 'text').execute();
      await db.schema.createIndex('users_user_group').on('users').column('user_group').execute();
      await db.schema
        .createTable('admin_grants')
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('permission', 'text', (c) => c.notNull())
        .addColumn('user_group', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('admin_grants_pk', ['user_id', 'permission', 'user_group'])
        .execute();
      await db.schema
        .createIndex('admin_grants_permission')
        .on('admin_grants')
        .columns(['permission', 'user_group'])
        .execute();
      // The permissions as of this migration, written out: a later one is granted by its own.
      const every = [
        'view-users',
        'add-users',
        'edit-users',
        'delete-users',
        'reset-pin',
        'reset-devices',
        'unlock',
        'issue-bypass',
        'import-users',
        'manage-settings',
        'manage-administrators',
        'view-reports',
      ];
      const admins = await db.selectFrom('users').select('id').where('role', '=', 'admin').execute();
      const time = Date.now();
      const grants = admins.flatMap(({ id }: { id: string }) =>
        every.map((permission) => ({
          user_id: id,
          permission,
          user_group: '',
          created_at: time,
        })),
      );
      if (grants.length > 0) await db.insertInto('admin_grants').values(grants).execute();
    },
  },
  '0011_directory_users': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- schema changes predate the types
    async up(db: Kysely<any>) {
      // SPEC D1–D4: which directory a user comes from (null: the portal's own), the entry that
      // is theirs there, whether their groups let them enrol, and those groups (JSON), kept for
      // the administrators' group-scoped rights.
      for (const [column, type] of [
        ['directory', 'text'],
        ['directory_key', 'text'],
        ['directory_groups', 'text'],
      ] as const) {
        await db.schema.alterTable('users').addColumn(column, type).execute();
      }
      await db.schema
        .alterTable('users')
        .addColumn('may_enrol', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema.createIndex('users_directory_key').on('users').column('directory_key').execute();
    },
  },
  '0012_provider_reports': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- schema changes predate the types
    async up(db: Kysely<any>) {
      // The provider's id of the call or text now under way (Twilio's CallSid or MessageSid, a
      // gateway's message id): a report about any other call or text of the attempt is ignored.
      await db.schema.alterTable('verifications').addColumn('provider_ref', 'text').execute();
      // Each provider report acted on once, whatever the provider resends or a replay repeats.
      await db.schema
        .createTable('provider_reports')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0014_imported_tokens': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- schema changes predate the types
    async up(db: Kysely<any>) {
      // SPEC M4: OATH tokens imported from a seed file wait here, by serial, until a user
      // associates one with a code it shows; it then becomes one of their devices.
      await db.schema
        .createTable('imported_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('serial', 'text', (c) => c.notNull().unique())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('otp_type', 'text', (c) => c.notNull())
        .addColumn('algorithm', 'text', (c) => c.notNull())
        .addColumn('digits', 'integer', (c) => c.notNull())
        .addColumn('period', 'integer', (c) => c.notNull())
        .addColumn('counter', 'bigint')
        .addColumn('imported_at', 'bigint', (c) => c.notNull())
        .addColumn('imported_by', 'text')
        .execute();
    },
  },
  '0015_audit_report_indexes': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- schema changes predate the types
    async up(db: Kysely<any>) {
      // SPEC A4: the report pages through the audit newest first by (time, id), keyset and not
      // OFFSET, under each of its filters; every index ends with that order so that a page is a
      // range read whatever the table's size. The two older indexes end in time alone.
      await db.schema.dropIndex('audit_events_time').execute();
      await db.schema.dropIndex('audit_events_user_time').execute();
      for (const [name, column] of [
        ['audit_events_time', null],
        ['audit_events_user_time', 'user_id'],
        ['audit_events_username_time', 'username'],
        ['audit_events_type_time', 'type'],
        ['audit_events_result_time', 'result'],
        ['audit_events_admin_time', 'admin_id'],
      ] as const) {
        await db.schema
          .createIndex(name)
          .on('audit_events')
          .columns([...(column ? [column] : []), 'occurred_at', 'id'])
          .execute();
      }
    },
  },
  '0017_email_templates': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- schema changes predate the types
    async up(db: Kysely<any>) {
      // SPEC N2: an administrator's wording of an email in one language; without a row the
      // email keeps the shipped text.
      await db.schema
        .createTable('email_templates')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('language', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_by', 'text')
        .addPrimaryKeyConstraint('email_templates_pk', ['kind', 'language'])
        .execute();
    },
  },
  '0019_user_tags_import_previews': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- schema changes predate the types
    async up(db: Kysely<any>) {
      // SPEC A2: tags an administrator gives a user and finds them by, kept as `,a,b,`.
      await db.schema.alterTable('users').addColumn('tags', 'text').execute();
      // An import file read for its preview, kept (sealed) until the administrator confirms it.
      await db.schema
        .createTable('import_previews')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('admin_id', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('sealed', 'text', (c) => c.notNull())
        .addColumn('preview', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0020_user_search_indexes': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- schema changes predate the types
    async up(db: Kysely<any>) {
      // SPEC A2, §15 P3: the console's user search on a million users. Each index holds what
      // the search's range over a text's literal start compares (users-repository.ts,
      // `matches`): the Unicode lower case of the columns kept as typed (PostgreSQL's lower(),
      // SQLite's unicode_lower() from node-sqlite-dialect.ts) and the phone numbers as they
      // are; on PostgreSQL in the "C" collation, as the folded username too. On SQLite the
      // username's unique index serves, in BINARY order.
      const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
      const asTyped = [
        ['users_email_search', 'email'],
        ['users_name_search', 'display_name'],
        ['users_group_search', 'user_group'],
      ] as const;
      const asStored = [
        ['users_phone_search', 'phone'],
        ['users_backup_phone_search', 'backup_phone'],
        ['users_mobile_phone_search', 'mobile_phone'],
      ] as const;
      for (const [name, column] of asTyped) {
        const key = postgres
          ? sql`(lower(${sql.ref(column)}) collate "C")`
          : sql`unicode_lower(${sql.ref(column)})`;
        await sql`create index ${sql.id(name)} on users (${key})`.execute(db);
      }
      for (const [name, column] of asStored) {
        const key = postgres ? sql`(${sql.ref(column)} collate "C")` : sql.ref(column);
        await sql`create index ${sql.id(name)} on users (${key})`.execute(db);
      }
      if (postgres) {
        await sql`create index users_username_search on users ((username collate "C"))`.execute(
          db,
        );
      }
    },
  },
};

/** The schema this code runs on: the name of its newest migration. */
export const latestSchemaVersion = Object.keys(migrations).sort().at(-1) ?? '';

/**
 * Brings the schema up to date, under a lock so that instances starting together on one
 * database run each migration once: on PostgreSQL Kysely's own `pg_advisory_lock`, on SQLite
 * the write lock that node-sqlite-dialect.ts takes for the migrator.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the migrator works on any schema
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  return migrateTo(db, latestSchemaVersion);
}

/** Brings the schema to `version` (a migration's name), as an older release left it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the migrator works on any schema
export async function migrateTo(db: Kysely<any>, version: string): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(migrations) },
  });
  const result = await migrator.migrateTo(version);
  if (result.error) {
    throw result.error instanceof Error ? result.error : new Error('Migration failed');
  }
  return result;
}
