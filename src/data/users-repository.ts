import { randomUUID } from 'node:crypto';
import { prepared } from './prepared.ts';
import type { DatabaseSchema, Db, DevicesTable, UsersTable } from './schema.ts';
import {
  PostgresAdapter,
  sql,
  type Expression,
  type ExpressionBuilder,
  type Selectable,
  type SqlBool,
} from 'kysely';

export type UserRow = Selectable<UsersTable>;

/** A user with how many security questions they answered and their devices, oldest first. */
export type UserWithDevices = UserRow & {
  answered_questions: number;
  devices: Selectable<DevicesTable>[];
};

/** The device columns, each under a name of its own beside the user's in one joined row. */
const deviceColumns = [
  'id',
  'user_id',
  'kind',
  'name',
  'serial',
  'secret',
  'otp_type',
  'algorithm',
  'digits',
  'period',
  'counter',
  'last_step',
  'created_at',
] as const satisfies readonly (keyof DevicesTable)[];

/** When attempts lock an account (SPEC M8): the portal settings and the hourly cap. */
export interface LockoutPolicy {
  threshold: number;
  lockMs: number;
  hourlyCap: number;
}

/** One attempt counted before its check, as it was counted (see `reserveAttempt`). */
export interface Reservation {
  /** The lock this attempt set, if it was the one that reached the threshold or the cap. */
  lockedUntil: number | null;
  /** The hourly window it was counted in. */
  windowStart: number;
}

const hourMs = 3_600_000;

/** How many security questions the user answered, as a column of their row. */
function answerCount(eb: ExpressionBuilder<DatabaseSchema, 'users'>) {
  return eb
    .selectFrom('security_answers')
    .innerJoin('security_questions', 'security_questions.id', 'security_answers.question_id')
    .whereRef('security_answers.user_id', '=', 'users.id')
    .select((count) => count.fn.countAll<number>().as('n'))
    .$asScalar()
    .as('answered_questions');
}

/** The hourly failure count without this attempt, if its window is still the current one. */
function windowWithout(eb: ExpressionBuilder<DatabaseSchema, 'users'>, windowStart: number) {
  return eb
    .case()
    .when(
      eb.and([eb('failure_window_start', '=', windowStart), eb('failure_window_count', '>', 0)]),
    )
    .then(eb('failure_window_count', '-', 1))
    .else(eb.ref('failure_window_count'))
    .end();
}

/** What `reserveAttempt` binds: the moment, and the policy worked out for it. */
interface AttemptValues {
  id: string;
  now: number;
  /** A failure window that started at or before this is over. */
  windowOver: number;
  /** When a lock set now ends. */
  lockEnd: number;
  threshold: number;
  hourlyCap: number;
}

// SPEC S5, M8: the statements around every check of a secret, compiled once (SPEC P2).
const reserve = prepared((db, p: AttemptValues) =>
  db
    .updateTable('users')
    .set((eb) => {
      const newWindow = eb.or([
        eb('failure_window_start', 'is', null),
        eb('failure_window_start', '<=', p.windowOver),
      ]);
      const windowStart = eb
        .case()
        .when(newWindow)
        .then(eb.val(p.now))
        .else(eb.ref('failure_window_start'))
        .end();
      const windowCount = eb
        .case()
        .when(newWindow)
        .then(1)
        .else(eb('failure_window_count', '+', 1))
        .end();
      const count = eb
        .case()
        .when('locked_until', 'is', null)
        .then(eb('failed_count', '+', 1))
        .else(1)
        .end();
      const windowEnd = eb(windowStart, '+', hourMs);
      const lockEnd = eb.val(p.lockEnd);
      const overThreshold = eb(count, '>=', p.threshold);
      const overCap = eb(windowCount, '>=', p.hourlyCap);
      return {
        failed_count: count,
        failure_window_start: windowStart,
        failure_window_count: windowCount,
        // Both reached: whichever lock lasts longer.
        locked_until: eb
          .case()
          .when(eb.and([overCap, overThreshold, eb(windowEnd, '<', lockEnd)]))
          .then(lockEnd)
          .when(overCap)
          .then(windowEnd)
          .when(overThreshold)
          .then(lockEnd)
          .else(null)
          .end(),
        updated_at: p.now,
      };
    })
    .where('id', '=', p.id)
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', p.now)]))
    .returning(['locked_until', 'failure_window_start']),
);

interface ReleaseValues {
  id: string;
  now: number;
  windowStart: number;
}

/** One failure less, never below zero, and one less in the attempt's window. */
function releasedCounts(eb: ExpressionBuilder<DatabaseSchema, 'users'>, p: ReleaseValues) {
  return {
    failed_count: eb
      .case()
      .when('failed_count', '>', 0)
      .then(eb('failed_count', '-', 1))
      .else(0)
      .end(),
    failure_window_count: windowWithout(eb, p.windowStart),
    updated_at: p.now,
  };
}

/** One failure less, in the attempt's window. */
const release = prepared((db, p: ReleaseValues) =>
  db
    .updateTable('users')
    .set((eb) => releasedCounts(eb, p))
    .where('id', '=', p.id),
);

/** The same, and the lock the attempt set. */
const releaseWithLock = prepared((db, p: ReleaseValues & { lockedUntil: number }) =>
  db
    .updateTable('users')
    .set((eb) => ({
      ...releasedCounts(eb, p),
      locked_until: eb
        .case()
        .when('locked_until', '=', p.lockedUntil)
        .then(null)
        .else(eb.ref('locked_until'))
        .end(),
    }))
    .where('id', '=', p.id),
);

/** No failures and no lock; the hourly window less the attempt that just succeeded. */
const clearAfterAttempt = prepared((db, p: ReleaseValues) =>
  db
    .updateTable('users')
    .set((eb) => ({
      failed_count: 0,
      locked_until: null,
      failure_window_count: windowWithout(eb, p.windowStart),
      updated_at: p.now,
    }))
    .where('id', '=', p.id),
);

const byUsername = prepared((db, p: { username: string }) =>
  db.selectFrom('users').selectAll().where('username', '=', p.username),
);

const withDevices = prepared((db, p: { id: string }) =>
  db
    .selectFrom('users')
    .leftJoin('devices', 'devices.user_id', 'users.id')
    .selectAll('users')
    .select((eb) => [
      answerCount(eb),
      ...deviceColumns.map((column) => eb.ref(`devices.${column}`).as(`device_${column}`)),
    ])
    .where('users.id', '=', p.id)
    .orderBy('devices.created_at'),
);

const saveLanguage = prepared((db, p: { id: string; language: string; now: number }) =>
  db
    .updateTable('users')
    .set({ language: p.language, updated_at: p.now })
    .where('id', '=', p.id),
);

export interface NewUser {
  username: string;
  displayName?: string;
  email?: string | null;
  passwordHash: string | null;
  role: 'user' | 'admin';
  group?: string | null;
}

export type UserStatus = 'enabled' | 'disabled' | 'locked' | 'not-enrolled' | 'bypass-pending';

/** Whether a user is in a status of the search (SPEC A2) and of the report's counts (A4). */
function hasStatus(
  eb: ExpressionBuilder<DatabaseSchema, 'users'>,
  status: UserStatus,
  now: number,
): Expression<SqlBool> {
  switch (status) {
    case 'enabled':
      return eb('disabled', '=', 0);
    case 'disabled':
      return eb('disabled', '<>', 0);
    case 'locked':
      return eb('locked_until', '>', now);
    case 'not-enrolled':
      return eb.and([
        eb('phone', 'is', null),
        eb('mobile_phone', 'is', null),
        eb.not(
          eb.exists(
            eb.selectFrom('devices').select('devices.id').whereRef('devices.user_id', '=', 'users.id'),
          ),
        ),
      ]);
    case 'bypass-pending':
      return eb.exists(
        eb
          .selectFrom('bypasses')
          .select('bypasses.id')
          .whereRef('bypasses.user_id', '=', 'users.id')
          .where('bypasses.used_at', 'is', null)
          .where('bypasses.cancelled_at', 'is', null)
          .where('bypasses.expires_at', '>', now),
      );
  }
}

/** What an administrator looks for (SPEC A2): each text exact, or with `*` for any characters. */
export interface UserSearch {
  username?: string;
  name?: string;
  email?: string;
  group?: string;
  /** One tag, exact or with `*`. */
  tag?: string;
  /** Matched against the phone, backup phone and mobile phone numbers (E.164). */
  phone?: string;
  status?: UserStatus;
  /** The groups the administrator may see, or null for every user. */
  groups: readonly string[] | null;
  sort: 'username' | 'name' | 'email' | 'group';
  descending: boolean;
  offset: number;
  limit: number;
}

const sortColumns = {
  username: 'username',
  name: 'display_name',
  email: 'email',
  group: 'user_group',
} as const;

/**
 * A typed search text folded as the stored values are compared: Unicode lower case, as
 * PostgreSQL's lower() and SQLite's unicode_lower() (node-sqlite-dialect.ts) fold them.
 */
function fold(text: string): string {
  return text.normalize('NFC').toLowerCase();
}

/** A folded search text as a LIKE pattern: `*` for any characters, the rest literal. */
function likePattern(folded: string): string {
  return folded.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%');
}

/**
 * The range of strings that start with `prefix`, in code point order (SQLite's BINARY, UTF-8
 * bytes, and PostgreSQL's "C"): [prefix, the prefix with its last code point one higher).
 * Undefined when there is no bound (an empty prefix).
 */
function prefixRange(prefix: string): { low: string; high: string } | undefined {
  const points = Array.from(prefix, (c) => c.codePointAt(0) ?? 0);
  while (points.length > 0) {
    const last = (points.pop() ?? 0) + 1;
    if (last <= 0x10ffff) {
      points.push(last === 0xd800 ? 0xe000 : last);
      return { low: prefix, high: String.fromCodePoint(...points) };
    }
  }
  return undefined;
}

/**
 * The condition that `column` matches the typed `text` (`*` for any characters), so written
 * that an index can find the rows when the text starts with a literal part (SPEC A2: fast on a
 * million users). `stored` says how the column holds its values: `folded` (usernames, kept
 * normalised) and `digits` (phone numbers) are compared as they are, `as-typed` in Unicode lower
 * case (PostgreSQL's lower(), SQLite's unicode_lower(): SQLite's own lower() knows only ASCII).
 * Beside the LIKE, which decides, a range over the text's literal start lets an index of
 * migration 0020 narrow the rows first, in code point order ("C" on PostgreSQL, whatever the
 * database's collation; BINARY on SQLite).
 */
function matches(
  engine: 'sqlite' | 'postgres',
  column: 'username' | 'display_name' | 'email' | 'user_group' | PhoneColumn,
  stored: 'folded' | 'as-typed' | 'digits',
  text: string,
) {
  const folded = stored === 'digits' ? text : fold(text);
  const ref = sql.ref(column);
  const lower = engine === 'postgres' ? sql`lower` : sql`unicode_lower`;
  const value = stored === 'as-typed' ? sql`${lower}(${ref})` : ref;
  const like = sql<boolean>`${value} like ${likePattern(folded)} escape '\\'`;
  const range = prefixRange(folded.split('*', 1)[0] ?? '');
  if (!range) return like;
  const key = engine === 'postgres' ? sql`(${value}) collate "C"` : value;
  return sql<boolean>`(${key} >= ${range.low} and ${key} < ${range.high} and ${like})`;
}

type PhoneColumn = 'phone' | 'backup_phone' | 'mobile_phone';

/** A typed phone number as the numbers are stored: E.164, without spaces or punctuation. */
function phoneText(text: string): string {
  return text.replace(/[\s().\-/]/g, '');
}

/** Usernames compare case-insensitively, as Windows and most directories do. */
export function normaliseUsername(username: string): string {
  return username.trim().normalize('NFC').toLowerCase();
}

/** What a user changes about themselves on My account (SPEC J3), apart from the PIN. */
export type AccountFields = Partial<
  Pick<
    UserRow,
    | 'phone'
    | 'phone_extension'
    | 'backup_phone'
    | 'backup_extension'
    | 'mobile_phone'
    | 'default_method'
  >
>;

export class DuplicateUsernameError extends Error {
  override name = 'DuplicateUsernameError';
}

export function createUsersRepository(db: Db) {
  const engine = db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
  return {
    async findByUsername(username: string): Promise<UserRow | undefined> {
      return (await byUsername(db, { username: normaliseUsername(username) })).rows[0];
    },

    async findById(id: string): Promise<UserRow | undefined> {
      return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    },

    /** The user and how many security questions they answered, in one statement. */
    async findWithAnswerCount(
      id: string,
    ): Promise<(UserRow & { answered_questions: number }) | undefined> {
      return db
        .selectFrom('users')
        .selectAll('users')
        .select(answerCount)
        .where('users.id', '=', id)
        .executeTakeFirst();
    },

    /**
     * The user, their answer count and their devices in one statement (SPEC P2): a row per
     * device, or one without a device, the device's columns prefixed with `device_`.
     */
    async findWithDevices(id: string): Promise<UserWithDevices | undefined> {
      const { rows } = await withDevices(db, { id });
      const first = rows[0];
      if (!first) return undefined;
      const user: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(first)) {
        if (!key.startsWith('device_')) user[key] = value;
      }
      const devices = rows.flatMap((row) => {
        const fields = row as unknown as Record<string, unknown>;
        if (fields.device_id === null) return [];
        const device: Record<string, unknown> = {};
        for (const column of deviceColumns) device[column] = fields[`device_${column}`];
        return [device as Selectable<DevicesTable>];
      });
      return { ...(user as UserRow & { answered_questions: number }), devices };
    },

    async create(user: NewUser, now = Date.now()): Promise<UserRow> {
      const username = normaliseUsername(user.username);
      const existing = await this.findByUsername(username);
      if (existing) throw new DuplicateUsernameError(`User ${username} already exists`);
      const row = {
        id: randomUUID(),
        username,
        display_name: user.displayName ?? '',
        email: user.email ?? null,
        password_hash: user.passwordHash,
        role: user.role,
        user_group: user.group ?? null,
        language: null,
        locked_until: null,
        failure_window_start: null,
        created_at: now,
        updated_at: now,
      };
      try {
        await db.insertInto('users').values(row).execute();
      } catch (error) {
        // Added at the same moment by another request: the unique index kept one of them.
        if (await this.findByUsername(username)) {
          throw new DuplicateUsernameError(`User ${username} already exists`);
        }
        throw error;
      }
      const created = await this.findById(row.id);
      if (!created) throw new Error('User vanished after insert');
      return created;
    },

    /**
     * Users matching every criterion given, sorted, one page of them and one more (so that the
     * caller knows whether another page follows).
     */
    async search(criteria: UserSearch, now = Date.now()): Promise<UserRow[]> {
      let query = db.selectFrom('users').selectAll();
      const matching = [
        ['username', 'folded', criteria.username],
        ['display_name', 'as-typed', criteria.name],
        ['email', 'as-typed', criteria.email],
        ['user_group', 'as-typed', criteria.group],
      ] as const;
      for (const [column, stored, text] of matching) {
        if (text) query = query.where(matches(engine, column, stored, text));
      }
      const phone = phoneText(criteria.phone ?? '');
      if (phone) {
        const columns = ['phone', 'backup_phone', 'mobile_phone'] as const;
        query = query.where((eb) =>
          eb.or(columns.map((column) => matches(engine, column, 'digits', phone))),
        );
      }
      if (criteria.tag) {
        query = query.where(
          sql<boolean>`tags like ${`%,${likePattern(criteria.tag)},%`} escape '\\'`,
        );
      }
      if (criteria.groups !== null) {
        if (criteria.groups.length === 0) return [];
        query = query.where('user_group', 'in', [...criteria.groups]);
      }
      const { status } = criteria;
      if (status) query = query.where((eb) => hasStatus(eb, status, now));
      const direction = criteria.descending ? 'desc' : 'asc';
      return query
        .orderBy(sortColumns[criteria.sort], direction)
        .orderBy('username', direction)
        .offset(criteria.offset)
        .limit(criteria.limit + 1)
        .execute();
    },

    /** How many users are in `status`, of these groups or (null) of every group (SPEC A4). */
    async countWithStatus(
      status: UserStatus,
      groups: readonly string[] | null,
      now = Date.now(),
    ): Promise<number> {
      if (groups !== null && groups.length === 0) return 0;
      let query = db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .where((eb) => hasStatus(eb, status, now));
      if (groups !== null) query = query.where('user_group', 'in', [...groups]);
      return Number((await query.executeTakeFirstOrThrow()).count);
    },

    async setPasswordHash(id: string, passwordHash: string, now = Date.now()): Promise<void> {
      await db
        .updateTable('users')
        .set({ password_hash: passwordHash, updated_at: now })
        .where('id', '=', id)
        .execute();
    },

    async setDisabled(trx: Db, id: string, disabled: boolean, now = Date.now()): Promise<void> {
      await trx
        .updateTable('users')
        .set({ disabled: disabled ? 1 : 0, updated_at: now })
        .where('id', '=', id)
        .execute();
    },

    async setLanguage(id: string, language: string, now = Date.now()): Promise<void> {
      await saveLanguage(db, { id, language, now });
    },

    async updateAccount(id: string, fields: AccountFields, now = Date.now()): Promise<void> {
      await db
        .updateTable('users')
        .set({ ...fields, updated_at: now })
        .where('id', '=', id)
        .execute();
    },

    /** A new PIN (its hash) also satisfies "PIN change required" (SPEC M5). */
    /** The security questions picked for the account (SPEC M6), or none once answered. */
    async setAskedQuestions(id: string, questionIds: string[] | null): Promise<void> {
      await db
        .updateTable('users')
        .set({ asked_questions: questionIds === null ? null : JSON.stringify(questionIds) })
        .where('id', '=', id)
        .execute();
    },

    async setPin(id: string, pinHash: string, now = Date.now()): Promise<void> {
      await db
        .updateTable('users')
        .set({ pin_hash: pinHash, pin_change_required: 0, updated_at: now })
        .where('id', '=', id)
        .execute();
    },

    async findAdministrators(): Promise<UserRow[]> {
      return db
        .selectFrom('users')
        .selectAll()
        .where('role', '=', 'admin')
        .orderBy('username')
        .execute();
    },

    async countAdmins(): Promise<number> {
      const row = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .where('role', '=', 'admin')
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },

    /**
     * Counts one attempt as a failure before it is checked (SPEC S5, M8), in one statement, so
     * that concurrent requests on any number of instances cannot get past the lockout: only an
     * account that is not locked at `now` is counted, and the attempt that reaches the threshold
     * or the hourly cap locks it in the same statement. An expired lock is over: counting starts
     * again. Returns nothing when the account is locked (the check must not run).
     */
    async reserveAttempt(
      id: string,
      policy: LockoutPolicy,
      now = Date.now(),
    ): Promise<Reservation | undefined> {
      const { rows } = await reserve(db, {
        id,
        now,
        windowOver: now - hourMs,
        lockEnd: now + policy.lockMs,
        threshold: policy.threshold,
        hourlyCap: policy.hourlyCap,
      });
      const row = rows[0];
      return row && { lockedUntil: row.locked_until, windowStart: row.failure_window_start ?? now };
    },

    /**
     * Takes back a reserved attempt whose check succeeded, and only that one: one failure less,
     * in its hourly window, and the lock it set if it set one. A lock another attempt set stays,
     * even one this attempt helped reach. Never below zero, should a success have cleared the
     * failures meanwhile.
     */
    async releaseAttempt(id: string, reservation: Reservation, now = Date.now()): Promise<void> {
      const values = { id, now, windowStart: reservation.windowStart };
      const { lockedUntil } = reservation;
      if (lockedUntil === null) await release(db, values);
      else await releaseWithLock(db, { ...values, lockedUntil });
    },

    /**
     * A success that proves the user (a completed sign-in or proof) clears the failures and the
     * lock; the hourly window keeps its failures (SPEC M8), less the attempt that just succeeded.
     */
    async clearFailures(id: string, reservation?: Reservation, now = Date.now()): Promise<void> {
      if (reservation) {
        await clearAfterAttempt(db, { id, now, windowStart: reservation.windowStart });
        return;
      }
      await db
        .updateTable('users')
        .set({ failed_count: 0, locked_until: null, updated_at: now })
        .where('id', '=', id)
        .execute();
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
