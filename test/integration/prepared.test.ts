import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/data/database.ts';
import { migrateToLatest } from '../../src/data/migrations.ts';
import { changedRows, prepared } from '../../src/data/prepared.ts';

const readSession = prepared((db, p: { sid: string }) =>
  db.selectFrom('sessions').select(['data', 'expires_at']).where('sid', '=', p.sid),
);
const writeSession = prepared((db, p: { sid: string; data: string; expires_at: number }) =>
  db.insertInto('sessions').values({ sid: p.sid, data: p.data, expires_at: p.expires_at }),
);
const touchLater = prepared((db, p: { sid: string; expires_at: number }) =>
  db
    .updateTable('sessions')
    .set({ expires_at: p.expires_at })
    .where('sid', '=', p.sid)
    .where('expires_at', '<', p.expires_at),
);

describe('prepared statements (SPEC P2)', () => {
  let database: Database;
  beforeEach(async () => {
    database = openDatabase('sqlite::memory:');
    await migrateToLatest(database.db);
  });
  afterEach(async () => {
    await database.close();
  });

  it('binds each call its own values, a value used twice in both places', async () => {
    await writeSession(database.db, { sid: 'a', data: '{"n":1}', expires_at: 10 });
    await writeSession(database.db, { sid: 'b', data: '{"n":2}', expires_at: 20 });
    expect((await readSession(database.db, { sid: 'b' })).rows).toEqual([
      { data: '{"n":2}', expires_at: 20 },
    ]);
    expect((await readSession(database.db, { sid: 'a' })).rows[0]?.expires_at).toBe(10);
    expect(changedRows(await touchLater(database.db, { sid: 'a', expires_at: 5 }))).toBe(0n);
    expect(changedRows(await touchLater(database.db, { sid: 'a', expires_at: 30 }))).toBe(1n);
    expect((await readSession(database.db, { sid: 'a' })).rows[0]?.expires_at).toBe(30);
  });

  it('runs the same SQL text every time, inside a transaction too', async () => {
    const texts: string[] = [];
    const stop = database.observe((text) => texts.push(text));
    await readSession(database.db, { sid: 'a' });
    await database.db.transaction().execute(async (trx) => {
      await writeSession(trx, { sid: 'c', data: '{}', expires_at: 1 });
      await readSession(trx, { sid: 'c' });
    });
    await readSession(database.db, { sid: 'c' });
    stop();
    const reads = texts.filter((text) => text.startsWith('select'));
    expect(reads).toHaveLength(3);
    expect(new Set(reads).size).toBe(1);
    expect((await readSession(database.db, { sid: 'c' })).rows).toHaveLength(1);
  });

  it('refuses a statement that uses a value other than as a parameter', async () => {
    const misused = prepared((db, p: { sid: string }) =>
      db.selectFrom('sessions').select('sid').where('sid', '=', `${p.sid}-suffix`),
    );
    await expect(misused(database.db, { sid: 'a' })).rejects.toThrow(/sid is not a parameter/);
  });
});
