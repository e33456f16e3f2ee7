import type { Insertable, Selectable } from 'kysely';
import type { Db, DevicesTable } from './schema.ts';

export type DeviceRow = Selectable<DevicesTable>;
export type NewDevice = Insertable<DevicesTable>;

/** Mobile-app activations and OATH tokens; the single-use rules are enforced in SQL (S6). */
export function createDevicesRepository(db: Db) {
  return {
    async forUser(userId: string): Promise<DeviceRow[]> {
      return db
        .selectFrom('devices')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('created_at')
        .execute();
    },

    /**
     * Accepts TOTP time step `step` once: the update only matches while the stored step is
     * older, so two instances (or two tabs) presenting the same code cannot both succeed.
     */
    async acceptTotpStep(deviceId: string, step: number): Promise<boolean> {
      const result = await db
        .updateTable('devices')
        .set({ last_step: step })
        .where('id', '=', deviceId)
        .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
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
  };
}

export type DevicesRepository = ReturnType<typeof createDevicesRepository>;
