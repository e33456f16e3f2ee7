import { mergeSettings, type PortalSettings } from '../core/settings.ts';
import type { Db } from './schema.ts';

/** Portal settings in the database: one small read per request, so every instance agrees. */
export function createSettingsRepository(db: Db) {
  return {
    async read(): Promise<PortalSettings> {
      const rows = await db.selectFrom('settings').select(['key', 'value']).execute();
      return mergeSettings(Object.fromEntries(rows.map((row) => [row.key, JSON.parse(row.value)])));
    },

    async write<K extends keyof PortalSettings>(
      key: K,
      value: PortalSettings[K],
      now = Date.now(),
    ): Promise<void> {
      const row = { key, value: JSON.stringify(value), updated_at: now };
      await db
        .insertInto('settings')
        .values(row)
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: row.value, updated_at: now }))
        .execute();
    },
  };
}

export type SettingsRepository = ReturnType<typeof createSettingsRepository>;
