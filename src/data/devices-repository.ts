import type { Insertable, Selectable } from 'kysely';
import { changedRows, prepared } from './prepared.ts';
import type { Db, DevicesTable } from './schema.ts';

export type DeviceRow = Selectable<DevicesTable>;
export type NewDevice = Insertable<DevicesTable>;

// The statements of the second step, compiled once (SPEC P2).
const devicesOf = prepared((db, p: { userId: string }) =>
  db.selectFrom('devices').selectAll().where('user_id', '=', p.userId).orderBy('created_at'),
);
const acceptStep = prepared((db, p: { id: string; step: number }) =>
  db
    .updateTable('devices')
    .set({ last_step: p.step })
    .where('id', '=', p.id)
    .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', p.step)])),
);

/** Mobile-app activations and OATH tokens; the single-use rules are enforced in SQL (S6). */
export function createDevicesRepository(db: Db) {
  return {
    async forUser(userId: string): Promise<DeviceRow[]> {
      return (await devicesOf(db, { userId })).rows;
    },

    /**
     * Accepts TOTP time step `step` once: the update only matches while the stored step is
     * older, so two instances (or two tabs) presenting the same code cannot both succeed.
     */
    async acceptTotpStep(deviceId: string, step: number): Promise<boolean> {
      return changedRows(await acceptStep(db, { id: deviceId, step })) > 0n;
    },

    /** Moves an HOTP counter forward from the value the caller read: a compare-and-set. */
    async advanceHotpCounter(deviceId: string, from: number, to: number): Promise<boolean> {
      const result = await db
        .updateTable('devices')
        .set({ counter: to })
        .where('id', '=', deviceId)
        .where('counter', '=', from)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    /**
     * Saves a device unless the user already has `limit` of its kind (SPEC M3 device limit, one
     * OATH token). Touching the user's row first takes its lock, so two activations racing on
     * two instances are counted one after the other. Returns false when the limit was reached.
     */
    async addWithinLimit(device: NewDevice, limit: number): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        await trx
          .updateTable('users')
          .set({ updated_at: device.created_at })
          .where('id', '=', device.user_id)
          .execute();
        const row = await trx
          .selectFrom('devices')
          .select((eb) => eb.fn.countAll<number | string | bigint>().as('count'))
          .where('user_id', '=', device.user_id)
          .where('kind', '=', device.kind)
          .executeTakeFirstOrThrow();
        if (Number(row.count) >= limit) return false;
        await trx.insertInto('devices').values(device).execute();
        return true;
      });
    },

    /** Only the user's own device: another user's id changes nothing and returns false. */
    async rename(userId: string, deviceId: string, name: string): Promise<boolean> {
      const result = await db
        .updateTable('devices')
        .set({ name })
        .where('id', '=', deviceId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async remove(userId: string, deviceId: string): Promise<boolean> {
      const result = await db
        .deleteFrom('devices')
        .where('id', '=', deviceId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
  };
}

export type DevicesRepository = ReturnType<typeof createDevicesRepository>;
