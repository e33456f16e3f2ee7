import { randomUUID } from 'node:crypto';
import type { Db } from './schema.ts';
import { normaliseUsername, type UserRow } from './users-repository.ts';

/** What a directory says of a user, mapped to the portal's fields (phones in E.164 or null). */
export interface DirectoryFields {
  /** The entry's key in the directory (an LDAP DN), or null when it has none (RADIUS). */
  key: string | null;
  username: string;
  displayName: string;
  email: string | null;
  phone: string | null;
  mobilePhone: string | null;
  groups: string[];
  mayEnrol: boolean;
  /** The portal group the directory gives (LDAP_USER_GROUPS); undefined: it gives none. */
  group?: string | null;
}

function columnsOf(directory: string, fields: DirectoryFields) {
  return {
    directory,
    directory_key: fields.key,
    directory_groups: JSON.stringify(fields.groups),
    may_enrol: fields.mayEnrol ? 1 : 0,
    display_name: fields.displayName.slice(0, 256),
    email: fields.email,
    ...(fields.group === undefined ? {} : { user_group: fields.group }),
  };
}

/** The portal's rows of users who come from a directory (SPEC D1–D4). */
export function createDirectoryUsers(db: Db) {
  const byUsername = (username: string) =>
    db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', normaliseUsername(username))
      .executeTakeFirst();

  return {
    /**
     * The account of a directory user: found by username, or made the first time they are seen,
     * with their names, email and phones. Undefined when the username is a local account's: a
     * directory never takes over an account the portal made itself.
     */
    async provision(
      directory: string,
      fields: DirectoryFields,
      now = Date.now(),
    ): Promise<UserRow | undefined> {
      const existing = await byUsername(fields.username);
      if (existing) return existing.directory === null ? undefined : existing;
      try {
        await db
          .insertInto('users')
          .values({
            id: randomUUID(),
            username: normaliseUsername(fields.username),
            ...columnsOf(directory, fields),
            password_hash: null,
            role: 'user',
            language: null,
            locked_until: null,
            failure_window_start: null,
            phone: fields.phone,
            mobile_phone: fields.mobilePhone,
            created_at: now,
            updated_at: now,
          })
          .execute();
      } catch (error) {
        // The same user's first two sign-ins at once: the other one made the row.
        const made = await byUsername(fields.username);
        if (!made) throw error;
        return made.directory === null ? undefined : made;
      }
      return byUsername(fields.username);
    },

    /**
     * After a sign-in: what the directory says now. A phone the user set in the portal is
     * kept; one the directory has fills an empty one only.
     */
    async refresh(
      user: UserRow,
      directory: string,
      fields: DirectoryFields,
      now = Date.now(),
    ): Promise<void> {
      await db
        .updateTable('users')
        .set({
          ...columnsOf(directory, fields),
          phone: user.phone ?? fields.phone,
          mobile_phone: user.mobile_phone ?? fields.mobilePhone,
          updated_at: now,
        })
        .where('id', '=', user.id)
        .execute();
    },

    /** The accounts that came from `directory`, for a sync to compare with the directory. */
    async accountsFrom(directory: string): Promise<UserRow[]> {
      return db.selectFrom('users').selectAll().where('directory', '=', directory).execute();
    },

    /** Disables accounts whose users left the directory (SPEC D4). */
    async disable(ids: string[], now = Date.now()): Promise<void> {
      if (ids.length === 0) return;
      await db
        .updateTable('users')
        .set({ disabled: 1, updated_at: now })
        .where('id', 'in', ids)
        .execute();
    },
  };
}

export type DirectoryUsers = ReturnType<typeof createDirectoryUsers>;
