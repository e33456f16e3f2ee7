import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserSearch } from '../../src/data/users-repository.ts';
import { signedInAdministrator } from '../helpers/admin.ts';
import { createTestPortal, type TestPortal } from '../helpers/app.ts';

/*
 * SPEC A2, §15 P3: the console's user search, on SQLite and on PostgreSQL (both projects run
 * this file): case folded the same way on both (Unicode, not SQLite's ASCII-only lower()), the
 * literal start of a text narrowed by an index of migration 0020, and phone numbers.
 */

let portal: TestPortal;

const everyone: UserSearch = {
  groups: null,
  sort: 'username',
  descending: false,
  offset: 0,
  limit: 25,
};

async function usernames(criteria: Partial<UserSearch>): Promise<string[]> {
  const rows = await portal.services.users.search({ ...everyone, ...criteria });
  return rows.map((row) => row.username);
}

async function user(
  username: string,
  fields: { displayName: string; email: string; group: string },
  phones: { phone?: string; backup_phone?: string; mobile_phone?: string } = {},
) {
  const created = await portal.services.users.create({
    username,
    ...fields,
    passwordHash: null,
    role: 'user',
  });
  if (Object.keys(phones).length > 0) {
    await portal.services.users.updateAccount(created.id, phones);
  }
}

beforeAll(async () => {
  portal = await createTestPortal();
  await user(
    'élodie.lefèvre',
    { displayName: 'Élodie Lefèvre', email: 'Elodie.Lefevre@Example.ORG', group: 'Ventes-Île' },
    { phone: '+33612345678', backup_phone: '+33187654321' },
  );
  await user(
    'eloise.johnson',
    { displayName: 'Eloïse Johnson', email: 'eloise@example.com', group: 'IT' },
    { mobile_phone: '+32470123456' },
  );
  await user('zoë_van.dijk', {
    displayName: 'ZOË VAN DIJK',
    email: 'ZOE@EXAMPLE.NL',
    group: 'ventes-île',
  });
  await user('zoëxvan.dijk', { displayName: 'Zoë X', email: 'zx@example.nl', group: 'IT' });
});
afterAll(async () => {
  await portal.close();
});

describe('user search (SPEC A2)', () => {
  it('folds case beyond ASCII on both databases: "ÉLODIE" finds "Élodie"', async () => {
    expect(await usernames({ name: 'ÉLODIE*' })).toEqual(['élodie.lefèvre']);
    expect(await usernames({ name: 'élodie lefèvre' })).toEqual(['élodie.lefèvre']);
    expect(await usernames({ name: '*zoë*' })).toEqual(['zoë_van.dijk', 'zoëxvan.dijk']);
    expect(await usernames({ username: 'ÉLO*' })).toEqual(['élodie.lefèvre']);
    expect(await usernames({ group: 'VENTES-ÎLE' })).toEqual(['zoë_van.dijk', 'élodie.lefèvre']);
    expect(await usernames({ email: 'elodie.lefevre@example.org' })).toEqual(['élodie.lefèvre']);
    expect(await usernames({ email: 'ZOE@example.nl' })).toEqual(['zoë_van.dijk']);
  });

  it('matches a literal start exactly, with * as the only wildcard', async () => {
    expect(await usernames({ username: 'elo*' })).toEqual(['eloise.johnson']);
    expect(await usernames({ username: 'elo' })).toEqual([]);
    expect(await usernames({ username: '*son*' })).toEqual(['eloise.johnson']);
    expect(await usernames({ username: '*.dijk' })).toEqual(['zoë_van.dijk', 'zoëxvan.dijk']);
    // _ and % are no wildcards, also in the literal start the index narrows by.
    expect(await usernames({ username: 'zoë_*' })).toEqual(['zoë_van.dijk']);
    expect(await usernames({ username: 'zoë%*' })).toEqual([]);
    expect(await usernames({ email: '*@example.nl', name: 'zoë*' })).toEqual([
      'zoë_van.dijk',
      'zoëxvan.dijk',
    ]);
  });

  it('finds users by any of their phone numbers, typed with spaces or not', async () => {
    expect(await usernames({ phone: '+33 6 12 34 56 78' })).toEqual(['élodie.lefèvre']);
    expect(await usernames({ phone: '+33187654321' })).toEqual(['élodie.lefèvre']);
    expect(await usernames({ phone: '+32 470*' })).toEqual(['eloise.johnson']);
    expect(await usernames({ phone: '*0123*' })).toEqual(['eloise.johnson']);
    expect(await usernames({ phone: '+3361234567' })).toEqual([]);
  });

  it('narrows the literal start by an index of migration 0020', async () => {
    const { db, engine } = portal.services.database;
    const statements: string[] = [];
    const stop = portal.services.database.observe((text) => statements.push(text));
    await usernames({ email: 'ZOE@example.nl' });
    stop();
    const search = statements.find((text) => text.includes(' like '));
    if (!search) throw new Error('no search statement');
    // Its parameters: the range's two ends, the LIKE pattern, the page's size and offset.
    const parameters = ['zoe@example.nl', 'zoe@example.nm', 'zoe@example.nl', 26, 0];
    const plan = await db.transaction().execute(async (trx) => {
      // Four users: PostgreSQL would read the table rather than any index, unless told not to.
      if (engine === 'postgres') await sql`set local enable_seqscan = off`.execute(trx);
      const explain = engine === 'sqlite' ? 'explain query plan' : 'explain';
      const { rows } = await trx.executeQuery(
        CompiledQuery.raw(`${explain} ${search}`, parameters),
      );
      return JSON.stringify(rows);
    });
    expect(plan).toContain('users_email_search');
  });

  it('has a phone number field on the console search, which finds the user', async () => {
    const { agent } = await signedInAdministrator(portal, 'root', [['view-users', null]]);
    const page = await agent.get('/admin/users?phone=%2B33%206%2012%2034%2056%2078').expect(200);
    expect(page.text).toContain('<label for="phone"');
    expect(page.text).toContain('value="+33 6 12 34 56 78"');
    expect(page.text).toMatch(/>élodie\.lefèvre<\/a>/);
    const nl = await agent.get('/admin/users?lng=nl').expect(200);
    expect(nl.text).toContain('Telefoonnummer');
  });
});
