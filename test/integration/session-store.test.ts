import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Request } from 'express';
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
  let raw: DatabaseSessionStore;
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
    raw = new DatabaseSessionStore(database.db, idleMs);
    store = promised(raw);
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

  /** A request as express-session leaves it: its session id, and the store's generate. */
  function requestFor(sid: string) {
    const res = new EventEmitter();
    let next = 0;
    const req = { sessionID: sid, res } as unknown as Request;
    Object.assign(raw, {
      generate: (r: Request) => {
        next += 1;
        r.sessionID = `new-${next}`;
      },
    });
    Object.assign(req, { sessionStore: raw });
    return { req, res };
  }

  const regenerate = (req: Request) =>
    new Promise<void>((resolve, reject) => {
      raw.regenerateOnSave(req, (error) => {
        if (error) reject(asError(error));
        else resolve();
      });
    });

  const sids = async () =>
    (await database.db.selectFrom('sessions').select('sid').orderBy('sid').execute()).map(
      (row) => row.sid,
    );

  it('writes a regenerated session in one statement that removes the old id (SPEC S2)', async () => {
    await store.set('sid-1', data);
    await store.get('sid-1');
    const { req } = requestFor('sid-1');
    await regenerate(req);
    expect(req.sessionID).toBe('new-1');
    // Until the new one is written the old one stands, with only what it granted before.
    expect(await sids()).toEqual(['sid-1']);

    const writes: string[] = [];
    const stop = database.observe((sql) => writes.push(sql));
    await store.set('new-1', { ...data, userId: 'u-1' });
    stop();
    expect(writes).toHaveLength(1);
    expect(await sids()).toEqual(['new-1']);
    expect(await store.get('sid-1')).toBeNull();
    expect((await store.get('new-1'))?.userId).toBe('u-1');
  });

  it('destroys the old session when the response ends without writing the new one', async () => {
    await store.set('sid-1', data);
    await store.get('sid-1');
    const { req, res } = requestFor('sid-1');
    await regenerate(req);
    res.emit('close');
    await expect.poll(sids).toEqual([]);
    // A save after that is a new session like any other, and takes nothing over.
    await store.set('new-1', data);
    expect(await sids()).toEqual(['new-1']);
  });

  it('destroys at once a session it did not read, as express-session regenerates', async () => {
    await store.set('sid-1', data);
    const { req } = requestFor('sid-1');
    await regenerate(req);
    expect(await sids()).toEqual([]);
    expect(req.sessionID).toBe('new-1');
  });
});
