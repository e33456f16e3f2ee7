import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SessionData } from 'express-session';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSecret } from '../../src/data/app-secrets.ts';
import { createAuditRepository } from '../../src/data/audit-repository.ts';
import { createSettingsRepository } from '../../src/data/settings-repository.ts';
import { openDatabase, type Database } from '../../src/data/database.ts';
import { migrateTo, migrateToLatest } from '../../src/data/migrations.ts';
import { DatabaseSessionStore } from '../../src/data/session-store.ts';
import { createUsersRepository, DuplicateUsernameError } from '../../src/data/users-repository.ts';
import {
  createTemporaryPostgresDatabase,
  needs,
  postgresUnavailable,
} from '../helpers/services.ts';

interface Engine {
  name: string;
  open(): Promise<{ database: Database; dispose(): Promise<void> }>;
}

const engines: Engine[] = [
  {
    name: 'SQLite (node:sqlite)',
    open: () => {
      const dir = mkdtempSync(join(tmpdir(), 'mfa-db-'));
      const database = openDatabase(`sqlite:${join(dir, 'nested', 'mfa.sqlite')}`);
      return Promise.resolve({
        database,
        dispose: async () => {
          await database.close();
          rmSync(dir, { recursive: true, force: true });
        },
      });
    },
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      const temporary = await createTemporaryPostgresDatabase();
      const database = openDatabase(temporary.url);
      return {
        database,
        dispose: async () => {
          await database.close();
          await temporary.drop();
        },
      };
    },
  },
];

const skipPostgres = await needs('PostgreSQL', postgresUnavailable);

describe.each(engines)('data layer on $name', (engine) => {
  let database: Database;
  let dispose: () => Promise<void>;
  const skip = engine.name === 'PostgreSQL' && skipPostgres;

  beforeAll(async () => {
    if (skip) return;
    const opened = await engine.open();
    database = opened.database;
    dispose = () => opened.dispose();
    await migrateToLatest(database.db);
  });
  afterAll(async () => {
    if (!skip) await dispose();
  });

  it.skipIf(skip)('migrates idempotently and answers a ping', async () => {
    const again = await migrateToLatest(database.db);
    expect(again.results).toEqual([]);
    await expect(database.ping()).resolves.toBeUndefined();
  });

  it.skipIf(skip)('stores users with normalised, unique usernames', async () => {
    const users = createUsersRepository(database.db);
    const created = await users.create({
      username: '  Marie.Dubois ',
      passwordHash: 'h',
      role: 'admin',
    });
    expect(created.username).toBe('marie.dubois');
    expect(created.disabled).toBe(0);
    expect(typeof created.created_at).toBe('number');
    expect((await users.findByUsername('MARIE.DUBOIS'))?.id).toBe(created.id);
    await expect(
      users.create({ username: 'marie.dubois', passwordHash: 'h', role: 'user' }),
    ).rejects.toThrow(DuplicateUsernameError);
    expect(await users.countAdmins()).toBe(1);
  });

  it.skipIf(skip)(
    'reserves attempts in one UPDATE … RETURNING: 20 at once, exactly the threshold pass',
    async () => {
      const users = createUsersRepository(database.db);
      const user = await users.create({ username: 'concurrent', passwordHash: 'h', role: 'user' });
      const now = Date.now();
      const policy = { threshold: 5, lockMs: 60_000, hourlyCap: 100 };
      const reserved = await Promise.all(
        Array.from({ length: 20 }, () => users.reserveAttempt(user.id, policy, now)),
      );
      const passed = reserved.filter((r) => r !== undefined);
      expect(passed).toHaveLength(5);
      // The row as the statement left it comes back: only the fifth set the lock.
      expect(passed.filter((r) => r.lockedUntil !== null)).toEqual([
        { lockedUntil: now + 60_000, windowStart: now },
      ]);
      expect(await users.findById(user.id)).toMatchObject({
        failed_count: 5,
        failure_window_count: 5,
        locked_until: now + 60_000,
      });
      expect(await users.reserveAttempt(user.id, policy, now + 59_999)).toBeUndefined();

      // Once the lock is over, counting starts again.
      const after = await users.reserveAttempt(user.id, policy, now + 60_000);
      expect(after).toEqual({ lockedUntil: null, windowStart: now });
      expect(await users.findById(user.id)).toMatchObject({
        failed_count: 1,
        failure_window_count: 6,
        locked_until: null,
      });
      await users.clearFailures(user.id, after);
      expect(await users.findById(user.id)).toMatchObject({
        failed_count: 0,
        failure_window_count: 5,
        locked_until: null,
      });
    },
  );

  it.skipIf(skip)('takes back one reservation, and only the lock it set itself', async () => {
    const users = createUsersRepository(database.db);
    const user = await users.create({ username: 'release', passwordHash: 'h', role: 'user' });
    const now = Date.now();
    const policy = { threshold: 3, lockMs: 60_000, hourlyCap: 100 };
    await users.reserveAttempt(user.id, policy, now);
    const second = await users.reserveAttempt(user.id, policy, now);
    const third = await users.reserveAttempt(user.id, policy, now);
    expect(third?.lockedUntil).toBe(now + 60_000);
    if (!second || !third) throw new Error('not reserved');

    // The second did not lock: taking it back leaves the lock the third set.
    await users.releaseAttempt(user.id, second);
    expect(await users.findById(user.id)).toMatchObject({
      failed_count: 2,
      failure_window_count: 2,
      locked_until: now + 60_000,
    });
    await users.releaseAttempt(user.id, third);
    expect(await users.findById(user.id)).toMatchObject({
      failed_count: 1,
      failure_window_count: 1,
      locked_until: null,
    });

    // Concurrent releases never count below zero.
    await users.clearFailures(user.id);
    await Promise.all([
      users.releaseAttempt(user.id, second),
      users.releaseAttempt(user.id, second),
    ]);
    expect((await users.findById(user.id))?.failed_count).toBe(0);
  });

  it.skipIf(skip)('caps failures at 100 an hour whatever the threshold', async () => {
    const users = createUsersRepository(database.db);
    const user = await users.create({ username: 'hourly', passwordHash: 'h', role: 'user' });
    const policy = { threshold: 1000, lockMs: 60_000, hourlyCap: 100 };
    const start = Date.now();
    let last;
    for (let i = 0; i < 100; i++) last = await users.reserveAttempt(user.id, policy, start + i);
    expect(last?.lockedUntil).toBe(start + 3_600_000);
    expect(await users.reserveAttempt(user.id, policy, start + 3_599_999)).toBeUndefined();
    // The next hour is a new window.
    expect(await users.reserveAttempt(user.id, policy, start + 3_600_000)).toEqual({
      lockedUntil: null,
      windowStart: start + 3_600_000,
    });

    // Threshold and cap reached by the same attempt: the longer lock wins.
    const both = await users.create({ username: 'both', passwordHash: 'h', role: 'user' });
    const long = { threshold: 100, lockMs: 2 * 3_600_000, hourlyCap: 100 };
    for (let i = 0; i < 100; i++) last = await users.reserveAttempt(both.id, long, start + i);
    expect(last?.lockedUntil).toBe(start + 99 + 2 * 3_600_000);
  });

  it.skipIf(skip)('keeps sessions with their expiry and forgets expired ones', async () => {
    const store = new DatabaseSessionStore(database.db, 60_000);
    const set = (sid: string, maxAge: number) =>
      new Promise<void>((resolve, reject) => {
        const data = { cookie: { maxAge }, userId: `user of ${sid}` } as unknown as SessionData;
        store.set(sid, data, (error) => {
          if (error) reject(new Error('set failed'));
          else resolve();
        });
      });
    const get = (sid: string) =>
      new Promise<SessionData | null | undefined>((resolve, reject) => {
        store.get(sid, (error, data) => {
          if (error) reject(new Error('get failed'));
          else resolve(data);
        });
      });
    const destroy = (sid: string) =>
      new Promise<void>((resolve) => {
        store.destroy(sid, () => {
          resolve();
        });
      });

    await set('sid-1', 60_000);
    expect((await get('sid-1'))?.userId).toBe('user of sid-1');
    await set('sid-2', -1);
    expect(await get('sid-2')).toBeNull();
    await destroy('sid-1');
    expect(await get('sid-1')).toBeNull();
  });

  it.skipIf(skip)(
    'stores settings over the defaults and ships the security questions',
    async () => {
      const settings = createSettingsRepository(database.db);
      expect((await settings.read()).allowedMethods).toEqual(['phone', 'sms', 'app', 'token']);
      await settings.write('allowedMethods', ['app', 'token']);
      await settings.write('deviceLimit', 7);
      await settings.write('deviceLimit', 8);
      const read = await settings.read();
      expect(read.allowedMethods).toEqual(['app', 'token']);
      expect(read.deviceLimit).toBe(8);

      const questions = await database.db
        .selectFrom('security_questions')
        .select(['language'])
        .execute();
      for (const language of ['en', 'nl', 'fr']) {
        expect(questions.filter((q) => q.language === language).length).toBeGreaterThanOrEqual(8);
      }
    },
  );

  it.skipIf(skip)('records audit events with the server fields, newest first', async () => {
    const audit = createAuditRepository(database.db);
    const base = {
      result: 'failure' as const,
      reason: 'invalid',
      user_id: 'u-audit',
      username: 'audit.user',
      display_name: null,
      email: null,
      phone: null,
      device: null,
      method: 'password',
      client_ip: '203.0.113.4',
      admin_id: null,
    };
    await audit.record({ ...base, type: 'sign-in.password' }, 1000);
    await audit.record(
      { ...base, type: 'sign-in.password', result: 'success', reason: null },
      2000,
    );
    const events = await audit.recentForUser('u-audit');
    expect(events.map((e) => e.result)).toEqual(['success', 'failure']);
    expect(events[0]?.server_name).toBeTruthy();
    expect(events[1]).toMatchObject({ client_ip: '203.0.113.4', occurred_at: 1000 });
  });

  it.skipIf(skip)('generates an installation secret once and returns it ever after', async () => {
    const [first, second] = await Promise.all([
      ensureSecret(database.db, 'session_secret'),
      ensureSecret(database.db, 'session_secret'),
    ]);
    expect(first).toHaveLength(43);
    expect(second).toBe(first);
    expect(await ensureSecret(database.db, 'other')).not.toBe(first);
  });
});

describe.each(engines)('administrators of an older release on $name (SPEC A1)', (engine) => {
  const skip = engine.name === 'PostgreSQL' && skipPostgres;

  it.skipIf(skip)('keep every permission, for every group, once migrated', async () => {
    const opened = await engine.open();
    try {
      const { db } = opened.database;
      await migrateTo(db, '0009_asked_questions');
      const row = (id: string, role: 'user' | 'admin') => ({
        id,
        username: id,
        display_name: '',
        email: null,
        password_hash: null,
        role,
        language: null,
        locked_until: null,
        failure_window_start: null,
        created_at: 1,
        updated_at: 1,
      });
      await db
        .insertInto('users')
        .values([row('old-admin', 'admin'), row('old-user', 'user')])
        .execute();
      await migrateToLatest(db);
      const grants = await db
        .selectFrom('admin_grants')
        .select(['user_id', 'permission', 'user_group'])
        .orderBy('permission')
        .execute();
      expect(grants.map((g) => g.user_id)).toEqual(Array(12).fill('old-admin'));
      expect(new Set(grants.map((g) => g.user_group))).toEqual(new Set(['']));
      expect(grants.map((g) => g.permission)).toContain('manage-administrators');
      const users = await db.selectFrom('users').select(['id', 'user_group']).execute();
      expect(users.every((u) => u.user_group === null)).toBe(true);
    } finally {
      await opened.dispose();
    }
  });
});
