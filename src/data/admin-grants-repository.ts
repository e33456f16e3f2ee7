import type { Db } from './schema.ts';

/** One permission of an administrator; `group` null for every user (SPEC A1). */
export interface GrantRow {
  userId: string;
  permission: string;
  group: string | null;
}

const stored = (group: string | null) => group ?? '';
const read = (row: { user_id: string; permission: string; user_group: string }): GrantRow => ({
  userId: row.user_id,
  permission: row.permission,
  group: row.user_group === '' ? null : row.user_group,
});

/** Administrators' permissions, and the role that makes a user an administrator. */
export function createAdminGrantsRepository(db: Db) {
  return {
    async forUser(userId: string): Promise<GrantRow[]> {
      const rows = await db
        .selectFrom('admin_grants')
        .select(['user_id', 'permission', 'user_group'])
        .where('user_id', '=', userId)
        .orderBy('permission')
        .orderBy('user_group')
        .execute();
      return rows.map(read);
    },

    /** Every grant of every administrator, in user order. */
    async all(): Promise<GrantRow[]> {
      const rows = await db
        .selectFrom('admin_grants')
        .select(['user_id', 'permission', 'user_group'])
        .orderBy('user_id')
        .orderBy('permission')
        .orderBy('user_group')
        .execute();
      return rows.map(read);
    },

    /** Adds the grants (those held already stay as they are) and makes the user an administrator. */
    async add(trx: Db, userId: string, grants: readonly Omit<GrantRow, 'userId'>[], now: number) {
      for (const grant of grants) {
        await trx
          .insertInto('admin_grants')
          .values({
            user_id: userId,
            permission: grant.permission,
            user_group: stored(grant.group),
            created_at: now,
          })
          .onConflict((oc) => oc.columns(['user_id', 'permission', 'user_group']).doNothing())
          .execute();
      }
      await trx
        .updateTable('users')
        .set({ role: 'admin', updated_at: now })
        .where('id', '=', userId)
        .execute();
    },

    /**
     * Removes one grant (or, with `group` undefined, every grant of the permission); a user left
     * with none is an administrator no more. Returns how many grants went.
     */
    async remove(
      trx: Db,
      userId: string,
      permission: string,
      group: string | null | undefined,
      now: number,
    ): Promise<number> {
      let removal = trx
        .deleteFrom('admin_grants')
        .where('user_id', '=', userId)
        .where('permission', '=', permission);
      if (group !== undefined) removal = removal.where('user_group', '=', stored(group));
      const result = await removal.executeTakeFirst();
      const left = await trx
        .selectFrom('admin_grants')
        .select('permission')
        .where('user_id', '=', userId)
        .executeTakeFirst();
      if (!left) {
        await trx
          .updateTable('users')
          .set({ role: 'user', updated_at: now })
          .where('id', '=', userId)
          .execute();
      }
      return Number(result.numDeletedRows);
    },

    /**
     * Enabled users who may manage administrators for every group (SPEC A1: the last of them
     * stays). In a transaction, first takes the row locks of those grants (PostgreSQL), so that
     * two removals at once cannot both count the other as the one left.
     */
    async countManagers(trx: Db): Promise<number> {
      await trx
        .updateTable('admin_grants')
        .set((eb) => ({ created_at: eb.ref('created_at') }))
        .where('permission', '=', 'manage-administrators')
        .where('user_group', '=', '')
        .execute();
      const row = await trx
        .selectFrom('admin_grants')
        .innerJoin('users', 'users.id', 'admin_grants.user_id')
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .where('admin_grants.permission', '=', 'manage-administrators')
        .where('admin_grants.user_group', '=', '')
        .where('users.disabled', '=', 0)
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },
  };
}

export type AdminGrantsRepository = ReturnType<typeof createAdminGrantsRepository>;
