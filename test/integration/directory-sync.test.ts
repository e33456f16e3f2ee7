import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDirectoryUsers } from '../../src/data/directory-users.ts';
import { openDatabase } from '../../src/data/database.ts';
import { migrateToLatest } from '../../src/data/migrations.ts';
import { cli } from '../helpers/cli.ts';
import { needs } from '../helpers/services.ts';
import { ldapPortalEnv, slapdMissing, startSlapd, type Slapd } from '../helpers/slapd.ts';

/**
 * SPEC D4 through `npx mfa-portal sync-directory` against a real slapd: accounts for the users
 * of the portal group (nested groups too, read whole), none for disabled ones, and leavers
 * disabled only within the approval threshold of 5 unless --approve.
 */
const skip = await needs('slapd', slapdMissing);

describe.skipIf(skip)('sync-directory on slapd (SPEC D4)', () => {
  let slapd: Slapd;
  const dir = mkdtempSync(join(tmpdir(), 'mfa-sync-'));
  const databaseUrl = `sqlite:${join(dir, 'mfa.sqlite')}`;
  const database = openDatabase(databaseUrl, join(dir, 'mfa.sqlite'), () => undefined);
  const directoryUsers = createDirectoryUsers(database.db);
  beforeAll(async () => {
    slapd = await startSlapd();
    await migrateToLatest(database.db);
  });
  afterAll(async () => {
    await database.close();
    await slapd.close();
  });
  const sync = (...args: string[]) =>
    cli(['sync-directory', ...args], databaseUrl, '', ldapPortalEnv(slapd));
  const enabled = async () =>
    (await directoryUsers.accountsFrom('ldap'))
      .filter((account) => !account.disabled)
      .map((account) => account.username)
      .sort();
  /** Accounts of users the directory no longer has, as an earlier sync would have left them. */
  const ghosts = async (count: number, prefix: string) => {
    for (let i = 0; i < count; i += 1) {
      await directoryUsers.provision('ldap', {
        key: `uid=${prefix}${String(i)},ou=gone,dc=example,dc=org`,
        username: `${prefix}${String(i)}`,
        displayName: 'Gone',
        email: null,
        phone: null,
        mobilePhone: null,
        groups: [],
        mayEnrol: true,
      });
    }
  };

  it('makes accounts for the users the portal group holds, directly or through a nested group, and none for refused ones', async () => {
    const first = await sync();
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(await enabled()).toEqual([
      'browser-en',
      'browser-fr',
      'browser-nl',
      'jdoe',
      'nested',
      'noenrol',
    ]);
    expect(first.stdout).toContain('6 created, 0 updated, 0 disabled');
    const jdoe = (await directoryUsers.accountsFrom('ldap')).find((a) => a.username === 'jdoe');
    expect(jdoe).toMatchObject({
      display_name: 'Jane Doe',
      email: 'jane.doe@example.org',
      may_enrol: 1,
    });
    const noenrol = (await directoryUsers.accountsFrom('ldap')).find(
      (a) => a.username === 'noenrol',
    );
    expect(noenrol?.may_enrol).toBe(0);
    expect((await sync()).stdout).toContain('0 created, 6 updated, 0 disabled');
  });

  it('disables up to 5 leavers at once; more wait for --approve', async () => {
    await ghosts(2, 'few');
    const few = await sync();
    expect(few.stdout).toContain('2 disabled');
    expect(await enabled()).not.toContain('few0');

    await ghosts(6, 'many');
    const many = await sync();
    expect(many.stdout).toContain('0 disabled');
    expect(many.stdout).toContain('6 accounts of users gone from the directory stay enabled');
    expect(await enabled()).toContain('many5');
    const approved = await sync('--approve');
    expect(approved.stdout).toContain('6 disabled');
    expect(await enabled()).not.toContain('many0');
  });
});
