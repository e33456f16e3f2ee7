import type { Insertable, Selectable } from 'kysely';
import type { Db, ImportedTokensTable } from './schema.ts';

export type ImportedTokenRow = Selectable<ImportedTokensTable>;
export type NewImportedToken = Insertable<ImportedTokensTable>;

/** OATH tokens imported and not yet associated with a user (SPEC M4). */
export function createImportedTokensRepository(db: Db) {
  return {
    async findBySerial(serial: string): Promise<ImportedTokenRow | undefined> {
      return db
        .selectFrom('imported_tokens')
        .selectAll()
        .where('serial', '=', serial)
        .executeTakeFirst();
    },

    /** The serials among `serials` that a waiting token or a user's token already has. */
    async serialsTaken(serials: readonly string[]): Promise<Set<string>> {
      const taken = new Set<string>();
      // In slices, within every database's limit on bound parameters.
      for (let start = 0; start < serials.length; start += 500) {
        const slice = serials.slice(start, start + 500);
        const [waiting, owned] = await Promise.all([
          db.selectFrom('imported_tokens').select('serial').where('serial', 'in', slice).execute(),
          db
            .selectFrom('devices')
            .select('serial')
            .where('kind', '=', 'token')
            .where('serial', 'in', slice)
            .execute(),
        ]);
        for (const row of [...waiting, ...owned]) if (row.serial !== null) taken.add(row.serial);
      }
      return taken;
    },

    async addAll(trx: Db, rows: readonly NewImportedToken[]): Promise<void> {
      for (let start = 0; start < rows.length; start += 100) {
        await trx
          .insertInto('imported_tokens')
          .values(rows.slice(start, start + 100))
          .execute();
      }
    },

    /** Takes the token out of the waiting ones; false when another user took it first. */
    async claim(trx: Db, id: string): Promise<boolean> {
      const result = await trx.deleteFrom('imported_tokens').where('id', '=', id).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
  };
}

export type ImportedTokensRepository = ReturnType<typeof createImportedTokensRepository>;
