import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type session from 'express-session';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openDatabase, type Database } from '../../src/data/database.ts';
import { migrateToLatest } from '../../src/data/migrations.ts';
import { DatabaseSessionStore } from '../../src/data/session-store.ts';

const idleMs = 20 * 60_000;

const asError = (error: unknown) => (error instanceof Error ? error : new Error('store failed'));

/** The store's callbacks as promises. */
function promised(store: DatabaseSessionStore) {
  const done =
    (resolve: () => void, reject: (error: Error) => void) =>
    (error: unknown): void => {
      if (error) reject(asError(error));
      else resolve();
    };
  return {
    get: (sid: string) =>
      new Promise<session.SessionData | null | undefined>((resolve, reject) => {
        store.get(sid, (error, value) => {
          if (error) reject(asError(error));
          else resolve(value);
        });
      }),
    set: (sid: string, data: session.SessionData) =>
      new Promise<void>((resolve, reject) => {
        store.set(sid, data, done(resolve, reject));
      }),
    touch: (sid: string, data: session.SessionData) =>
      new Promise<void>((resolve, reject) => {
        store.touch(sid, data, done(resolve, reject));
      }),
    destroy: (sid: string) =>
      new Promise<void>((resolve, reject) => {
        store.destroy(sid, done(resolve, reject));
      }),
  };
}

describe('database session store', () => {
  let dir: string;
  let database: Database;
  let store: ReturnType<typeof promised>;
  const data = JSON.parse(`{"cookie":{"maxAge":${String(idleMs)}}}`) as session.SessionData;
  const expiry = async () =>
    (
      await database.db
        .selectFrom('sessions')
        .select('expires_at')
        .where('sid', '=', 'sid-1')
        .executeTakeFirstOrThrow()
    ).expires_at;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mfa-store-'));
    database = openDatabase(`sqlite:${join(dir, 'mfa.sqlite')}`);
    await migrateToLatest(database.db);
    store = promised(new DatabaseSessionStore(database.db, idleMs));
  });

  afterEach(async () => {
    vi.useRealTimers();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('moves the expiry on a touch a minute or more after it was set, and writes nothing sooner', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000_000);
    await store.set('sid-1', data);
    const first = await expiry();

    const writes: string[] = [];
    const stop = database.observe((sql) => writes.push(sql));
    vi.setSystemTime(1_000_000_000 + 30_000);
    await store.get('sid-1');
    await store.touch('sid-1', data);
    expect(writes.filter((sql) => sql.startsWith('update'))).toEqual([]);
    expect(await expiry()).toBe(first);

    vi.setSystemTime(1_000_000_000 + 61_000);
    await store.get('sid-1');
    await store.touch('sid-1', data);
    stop();
    expect(writes.filter((sql) => sql.startsWith('update'))).toHaveLength(1);
    expect(await expiry()).toBe(1_000_000_000 + 61_000 + idleMs);
  });

  it('touches a session it did not read this request, and forgets a destroyed one', async () => {
    await store.set('sid-1', data);
    const before = await expiry();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await store.touch('sid-1', data);
    expect(await expiry()).toBeGreaterThan(before);
    await store.get('sid-1');
    await store.destroy('sid-1');
    expect(await store.get('sid-1')).toBeNull();
  });
});
