import { mergeSettings, type PortalSettings } from '../core/settings.ts';
import type { Db } from './schema.ts';

/**
 * How long an instance keeps the settings it read: a change made on another instance (or by the
 * CLI) is in force everywhere within this time, and a sign-in, which consults them several
 * times, reads them once.
 */
export const settingsCacheMs = 1000;

/** One setting's value before and after a change. */
export interface SettingChange {
  key: keyof PortalSettings;
  before: PortalSettings[keyof PortalSettings];
  after: PortalSettings[keyof PortalSettings];
}

/** Portal settings in the database, so every instance agrees (SPEC §5). */
export function createSettingsRepository(db: Db) {
  let cached: { settings: Promise<PortalSettings>; at: number } | undefined;

  async function readFrom(source: Db): Promise<PortalSettings> {
    const rows = await source.selectFrom('settings').select(['key', 'value']).execute();
    return mergeSettings(Object.fromEntries(rows.map((row) => [row.key, JSON.parse(row.value)])));
  }

  /**
   * The values that differ from those stored, written with `alongside` (their audit records) in
   * one transaction: all of them or none. The old values are read in it, not from the cache.
   */
  async function update(
    values: Partial<PortalSettings>,
    alongside: (trx: Db, changes: SettingChange[], now: number) => Promise<void>,
    now: number,
  ): Promise<SettingChange[]> {
    const changes = await db.transaction().execute(async (trx) => {
      const before = await readFrom(trx);
      const changed: SettingChange[] = [];
      for (const [key, after] of Object.entries(values) as [keyof PortalSettings, never][]) {
        if (JSON.stringify(before[key]) === JSON.stringify(after)) continue;
        changed.push({ key, before: before[key], after });
        const row = { key, value: JSON.stringify(after), updated_at: now };
        await trx
          .insertInto('settings')
          .values(row)
          .onConflict((oc) => oc.column('key').doUpdateSet({ value: row.value, updated_at: now }))
          .execute();
      }
      if (changed.length > 0) await alongside(trx, changed, now);
      return changed;
    });
    cached = undefined;
    return changes;
  }

  return {
    read(): Promise<PortalSettings> {
      const now = Date.now();
      if (!cached || now - cached.at >= settingsCacheMs) {
        const settings = readFrom(db);
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
      await update({ [key]: value }, async () => {}, now);
    },

    update(
      values: Partial<PortalSettings>,
      alongside: (trx: Db, changes: SettingChange[], now: number) => Promise<void>,
      now = Date.now(),
    ): Promise<SettingChange[]> {
      return update(values, alongside, now);
    },
  };
}

export type SettingsRepository = ReturnType<typeof createSettingsRepository>;
