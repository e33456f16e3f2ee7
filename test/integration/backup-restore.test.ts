import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestSchemaVersion } from '../../src/data/migrations.ts';
import { runningPortals, staleAfterMs } from '../../src/data/portal-instances.ts';
import { signIn } from '../helpers/app.ts';
import { cli } from '../helpers/cli.ts';
import { startPortalProcess, type PortalProcess } from '../helpers/portal-process.ts';
import { appCode, enrolApp, post } from '../helpers/two-step.ts';

const password = 'a backed-up password';

function freshFolder(name: string): string {
  return mkdtempSync(join(tmpdir(), `mfa-${name}-`));
}

function sqliteUrl(folder: string): string {
  return `sqlite:${join(folder, 'mfa.sqlite')}`;
}

/** Rows of a table in an SQLite file, read the way an operator would look. */
function rowsOf(file: string, query: string): Record<string, unknown>[] {
  const database = new DatabaseSync(file, { readOnly: true });
  try {
    return database.prepare(query).all();
  } finally {
    database.close();
  }
}

/** Signs in with the password, then the app's code of a later time step (never a spent one). */
async function signInWithApp(url: string, username: string, secret: Buffer, offsetSteps: number) {
  const agent = supertest.agent(url);
  const first = await signIn(agent, username, password);
  expect(first.headers.location).toBe('/verify');
  const page = await agent.get('/verify').expect(200);
  const done = await post(agent, '/verify', page.text, {
    method: 'app',
    code: appCode(secret, offsetSteps),
  });
  expect(done.status).toBe(303);
  expect(done.headers.location).toBe('/account');
  return agent.get('/account').expect(200);
}

describe(
  'backup while the portal serves, restore elsewhere (SPEC O3, O4)',
  { timeout: 120_000 },
  () => {
    const source = freshFolder('backup-source');
    const sourceUrl = sqliteUrl(source);
    const backupFile = join(freshFolder('backups'), 'mfa-backup.sqlite');
    let portal: PortalProcess;
    let secret: Buffer;

    beforeAll(async () => {
      portal = await startPortalProcess(sourceUrl);
      const created = await cli(['create-user', '--username', 'ines'], sourceUrl, password);
      expect(created.code).toBe(0);
      const agent = supertest.agent(portal.url);
      expect((await signIn(agent, 'ines', password)).status).toBe(303);
      secret = await enrolApp(agent);
    });

    afterAll(async () => {
      await portal.stop();
    });

    it('copies the live database with its schema version and key fingerprint, while serving', async () => {
      // Sign-ins go on while the copy is taken: VACUUM INTO reads one consistent snapshot.
      const busy = Promise.all(
        [0, 1, 2].map(() => signIn(supertest.agent(portal.url), 'ines', password)),
      );
      const result = await cli(['backup', backupFile], sourceUrl);
      await busy;
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`to ${backupFile} (schema ${latestSchemaVersion})`);
      expect(result.stdout).toContain(`back up ${join(source, 'encryption.key')} separately`);
      expect(result.stdout).toContain('Losing the key loses every app and token seed');

      expect(rowsOf(backupFile, 'SELECT username FROM users')).toEqual([{ username: 'ines' }]);
      expect(rowsOf(backupFile, 'SELECT kind FROM devices')).toEqual([{ kind: 'app' }]);
      const info = new Map(
        rowsOf(backupFile, 'SELECT key, value FROM mfa_portal_backup').map((r) => [
          String(r.key),
          String(r.value),
        ]),
      );
      expect(info.get('schema_version')).toBe(latestSchemaVersion);
      expect(info.get('key_fingerprint')).toMatch(/^[0-9a-f]{64}$/);
      // The key itself is nowhere in the copy, and neither are sessions or the heartbeat.
      expect(rowsOf(backupFile, 'SELECT count(*) AS n FROM sessions')).toEqual([{ n: 0 }]);
      expect(rowsOf(backupFile, 'SELECT count(*) AS n FROM portal_instances')).toEqual([{ n: 0 }]);
    });

    it('never overwrites a file', async () => {
      const again = await cli(['backup', backupFile], sourceUrl);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`${backupFile} exists already`);
      const taken = join(freshFolder('backups'), 'taken.sqlite');
      writeFileSync(taken, 'precious');
      expect((await cli(['backup', taken], sourceUrl)).code).toBe(1);
      expect(readFileSync(taken, 'utf8')).toBe('precious');
    });

    it('refuses to restore under the running portal', async () => {
      const refused = await cli(['restore', backupFile], sourceUrl);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`A portal is serving on ${join(source, 'mfa.sqlite')}`);
      expect(refused.stderr).toContain(`process ${String(portal.pid)}`);
    });

    it('restores into a fresh folder, where a portal signs the user in with their app', async () => {
      const target = freshFolder('restore-target');
      const targetUrl = sqliteUrl(target);
      const noKey = await cli(['restore', backupFile], targetUrl);
      expect(noKey.code).toBe(1);
      expect(noKey.stderr).toContain('No encryption key');
      expect(existsSync(join(target, 'mfa.sqlite'))).toBe(false);

      copyFileSync(join(source, 'encryption.key'), join(target, 'encryption.key'));
      const restored = await cli(['restore', backupFile], targetUrl);
      expect(restored.stderr).toBe('');
      expect(restored.code).toBe(0);
      expect(restored.stdout).toContain(
        `Restored ${join(target, 'mfa.sqlite')} from ${backupFile}`,
      );

      const copy = await startPortalProcess(targetUrl);
      try {
        const account = await signInWithApp(copy.url, 'ines', secret, 1);
        expect(account.text).toContain('ines');
      } finally {
        expect(await copy.stop('SIGKILL')).toBe('SIGKILL');
      }

      // A portal that was killed leaves its heartbeat, WAL and index behind; neither blocks a
      // restore, and the old WAL is not replayed into the restored file: the code just spent
      // there is accepted again, as the restored database never saw it.
      expect(existsSync(join(target, 'mfa.sqlite-wal'))).toBe(true);
      expect(existsSync(join(target, 'mfa.sqlite-shm'))).toBe(true);
      const again = await cli(['restore', backupFile], targetUrl);
      expect(again.stderr).toBe('');
      expect(again.code).toBe(0);
      expect(existsSync(join(target, 'mfa.sqlite-wal'))).toBe(false);
      expect(existsSync(join(target, 'mfa.sqlite-shm'))).toBe(false);
      expect(rowsOf(join(target, 'mfa.sqlite'), 'SELECT username FROM users')).toEqual([
        { username: 'ines' },
      ]);
      const tables = rowsOf(
        join(target, 'mfa.sqlite'),
        "SELECT name FROM sqlite_master WHERE type = 'table'",
      );
      expect(tables.map((t) => t.name)).not.toContain('mfa_portal_backup');

      const later = await startPortalProcess(targetUrl);
      try {
        await signInWithApp(later.url, 'ines', secret, 1);
      } finally {
        await later.stop();
      }
    });

    it('refuses a file that is not a backup, another schema version and another key', async () => {
      const target = freshFolder('restore-refusals');
      const targetUrl = sqliteUrl(target);
      copyFileSync(join(source, 'encryption.key'), join(target, 'encryption.key'));

      const text = join(target, 'notes.txt');
      writeFileSync(text, 'not a database');
      const live = join(source, 'mfa.sqlite');
      for (const file of [text, live, join(target, 'missing.sqlite')]) {
        const refused = await cli(['restore', file], targetUrl);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toMatch(
          /is not a backup made by mfa-portal backup|There is no file/,
        );
      }

      const future = join(target, 'future.sqlite');
      copyFileSync(backupFile, future);
      const database = new DatabaseSync(future);
      database.exec(`INSERT INTO kysely_migration (name, timestamp) VALUES ('9999_future', 'x')`);
      database.exec(
        `UPDATE mfa_portal_backup SET value = '9999_future' WHERE key = 'schema_version'`,
      );
      database.close();
      const newer = await cli(['restore', future], targetUrl);
      expect(newer.code).toBe(1);
      expect(newer.stderr).toContain(
        `has schema version 9999_future, and this release of the portal has ${latestSchemaVersion}`,
      );

      const otherKey = join(target, 'other.key');
      writeFileSync(otherKey, randomBytes(32).toString('hex'));
      const wrongKey = await cli(['restore', backupFile], targetUrl, '', {
        ENCRYPTION_KEY_FILE: otherKey,
      });
      expect(wrongKey.code).toBe(1);
      expect(wrongKey.stderr).toContain('was made with another encryption key');
      expect(existsSync(join(target, 'mfa.sqlite'))).toBe(false);
    });

    it('on PostgreSQL, says to use pg_dump and pg_restore, with the password masked', async () => {
      const url = 'postgres://mfa:s3cret@127.0.0.1:5432/mfa';
      for (const command of ['backup', 'restore']) {
        const refused = await cli([command, join(freshFolder('pg'), 'x.dump')], url, '', {
          ENCRYPTION_KEY: randomBytes(32).toString('hex'),
        });
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain(
          'pg_dump --format=custom --file=mfa-portal.dump "postgres://mfa:***@127.0.0.1:5432/mfa"',
        );
        expect(refused.stderr).toContain('pg_restore --clean --if-exists');
        expect(refused.stderr).not.toContain('s3cret');
      }
    });
  },
);

describe('which heartbeats mean a portal is serving', () => {
  const now = Date.now();
  const row = (host: string, pid: number, age: number) => ({
    id: randomUUID(),
    host,
    pid,
    started_at: now - 60_000,
    seen_at: now - age,
  });

  it('a recent heartbeat from another host, or from a live process here', () => {
    const serving = [row('elsewhere', 1, 1000), row(hostname(), process.pid, 1000)];
    expect(runningPortals(serving, now)).toEqual(serving);
  });

  it('not a heartbeat older than the stale limit, nor a process here that is gone', () => {
    const stale = row('elsewhere', 1, staleAfterMs + 1);
    const gone = row(hostname(), 2 ** 22 + 12345, 1000);
    expect(runningPortals([stale, gone], now, () => false)).toEqual([]);
  });
});
