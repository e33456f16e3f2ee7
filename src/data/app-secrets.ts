import { randomBytes } from 'node:crypto';
import type { Db } from './schema.ts';

/**
 * Returns the named secret, generating it once for the whole installation. Every instance that
 * shares the database reads the same value, so a restart or a second process keeps sessions valid.
 */
export async function ensureSecret(db: Db, name: string): Promise<string> {
  await db
    .insertInto('app_secrets')
    .values({ name, value: randomBytes(32).toString('base64url') })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await db
    .selectFrom('app_secrets')
    .select('value')
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
  return row.value;
}
