import { mergeSettings, type PortalSettings } from '../core/settings.ts';
import type { Db } from './schema.ts';

/**
 * How long an instance keeps the settings it read: a change made on another instance (or by the
 * CLI) is in force everywhere within this time, and a sign-in, which consults them several
 * times, reads them once.
 */
export const settingsCacheMs = 1000;

/** Portal settings in the database, so every instance agrees (SPEC §5). */
export function createSettingsRepository(db: Db) {
  let cached: { settings: Promise<PortalSettings>; at: number } | undefined;

  async function load(): Promise<PortalSettings> {
    const rows = await db.selectFrom('settings').select(['key', 'value']).execute();
    return mergeSettings(Object.fromEntries(rows.map((row) => [row.key, JSON.parse(row.value)])));
  }

  return {
    read(): Promise<PortalSettings> {
      const now = Date.now();
      if (!cached || now - cached.at >= settingsCacheMs) {
        const settings = load();
        cached = { settings, at: now };
        // A failed read is not kept: the next request tries the database again.
        settings.catch(() => {
          cached = undefined;
        });
      }
      return cached.settings;
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
      cached = undefined;
    },
  };
}

export type SettingsRepository = ReturnType<typeof createSettingsRepository>;
