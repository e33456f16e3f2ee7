import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPermissions } from '../../src/core/administrators.ts';
import { accountPassword } from '../helpers/account.ts';
import {
  notAllowedHeading,
  sendAdminForm,
  signedInAdministrator,
  userState,
} from '../helpers/admin.ts';
import { createTestPortal, csrfTokenFrom, headingOf, type TestPortal } from '../helpers/app.ts';
import { cliContext } from '../helpers/context.ts';

type Agent = ReturnType<typeof supertest.agent>;

const forbidden = notAllowedHeading;

let portal: TestPortal;
const ids: Record<string, string> = {};
let root: Agent;
let scoped: Agent;
let plain: Agent;

async function administrator(username: string, grants: [string, string | null][]) {
  const { id, agent } = await signedInAdministrator(portal, username, grants);
  ids[username] = id;
  return agent;
}

async function target(username: string, group: string | null, email: string | null = null) {
  const created = await portal.services.mfa.administration.createUser(cliContext, {
    username,
    displayName: `${username[0]?.toUpperCase() ?? ''}${username.slice(1)} Test`,
    email,
    password: accountPassword,
    role: 'user',
    group,
  });
  if (created.outcome !== 'created') throw new Error('not created');
  ids[username] = created.account.id;
}

const send = sendAdminForm;
const stateOf = (userId: string) => userState(portal, userId);

const userPage = (username: string) => `/admin/users/${ids[username] ?? ''}`;

beforeAll(async () => {
  portal = await createTestPortal();
  root = await administrator(
    'root',
    adminPermissions.map((permission) => [permission, null]),
  );
  scoped = await administrator('sven', [
    ['view-users', 'sales'],
    ['edit-users', 'sales'],
    ['reset-pin', 'sales'],
    ['unlock', 'sales'],
    ['issue-bypass', 'sales'],
  ]);
  plain = await administrator('paula', []);
  await target('sara', 'sales', 'sara@example.org');
  await target('henk', 'hr', 'henk@example.com');
});
afterAll(async () => {
  await portal.close();
});

describe('admin console: finding users (SPEC A2)', () => {
  it('links to the search from /admin, and finds users with * wildcards on each field', async () => {
    const home = await root.get('/admin').expect(200);
    expect(home.text).toContain('href="/admin/users"');
    const byName = async (query: string) => {
      const page = await root.get(`/admin/users?${query}`).expect(200);
      return [...page.text.matchAll(/<td><a href="\/admin\/users\/[^"]+">([^<]+)<\/a><\/td>/g)].map(
        (m) => m[1],
      );
    };
    expect(await byName('username=sa*')).toEqual(['sara']);
    expect(await byName('username=sar')).toEqual([]);
    expect(await byName('name=*test')).toEqual(['henk', 'sara']);
    expect(await byName('email=*%40example.org')).toEqual(['sara']);
    expect(await byName('group=hr')).toEqual(['henk']);
    expect(await byName('name=*test&sort=name&order=desc')).toEqual(['sara', 'henk']);
    const all = await root.get('/admin/users').expect(200);
    expect(headingOf(all.text)).toBe('Find users');
    expect(all.text).toContain('aria-sort="ascending"');
    expect(all.text).toMatch(/href="\/admin\/users\?sort=username&amp;order=desc"/);
  });

  it('pages through many users, and keeps the criteria in its links', async () => {
    for (let i = 0; i < 26; i++) {
      await portal.services.users.create({
        username: `paged-${String(i).padStart(2, '0')}`,
        passwordHash: null,
        role: 'user',
        group: 'paged',
      });
    }
    const first = await root.get('/admin/users?group=paged').expect(200);
    expect(first.text.match(/paged-\d\d<\/a>/g)).toHaveLength(25);
    expect(first.text).toContain('href="/admin/users?group=paged&amp;page=2" rel="next"');
    const second = await root.get('/admin/users?group=paged&page=2').expect(200);
    expect(second.text.match(/paged-\d\d<\/a>/g)).toEqual(['paged-25</a>']);
    expect(second.text).toContain('rel="prev"');
    expect(second.text).not.toContain('rel="next"');
  });

  it('re-renders a wrong search with 400 and an error summary, in each language', async () => {
    const wrong = await root.get('/admin/users?status=sleeping&username=sa*').expect(400);
    expect(wrong.text).toContain('class="error-summary"');
    expect(wrong.text).toContain('href="#status"');
    expect(wrong.text).toContain('value="sa*"');
    expect(wrong.text).toContain('<title>Error: Find users');
    // Bytes that are not UTF-8 are not what anyone typed (S9).
    const notUtf8 = await root.get('/admin/users?name=%C0%80*').expect(400);
    expect(notUtf8.text).toContain('href="#name"');
    await root.get('/admin/users?sort=password').expect(400);
    await root.get('/admin/users?page=0').expect(400);
    const dutch = await root.get('/admin/users?lng=nl').expect(200);
    expect(headingOf(dutch.text)).toBe('Gebruikers zoeken');
    const french = await root.get('/admin/users?lng=fr').expect(200);
    expect(headingOf(french.text)).toBe('Rechercher des utilisateurs');
    await root.get('/admin/users?lng=en').expect(200);
  });
});

describe('admin console: a user and the actions on them (SPEC A2, M5, M7)', () => {
  it('shows the details, methods, recent activity and permissions of a user', async () => {
    const page = await root.get(userPage('sara')).expect(200);
    expect(headingOf(page.text)).toBe('User sara');
    expect(page.text).toContain('sara@example.org');
    expect(page.text).toContain('<dd>sales</dd>');
    expect(page.text).toContain('No method yet');
    expect(page.text).toContain('Recent activity');
    const admin = await root.get(userPage('sven')).expect(200);
    expect(admin.text).toContain('Unlock accounts, for group sales');
    await root.get('/admin/users/no-such-user').expect(404);
    await root.get('/admin/users/a%00b').expect(404);
  });

  it('unlocks, issues a bypass, resets and generates a PIN, disables and enables, each audited with the administrator', async () => {
    const { db } = portal.services.database;
    const userId = ids.sara ?? '';
    await db
      .updateTable('users')
      .set({ locked_until: Date.now() + 600_000, failed_count: 5 })
      .where('id', '=', userId)
      .execute();
    const locked = await root.get(userPage('sara')).expect(200);
    expect(locked.text).toContain('Unlock the account');
    const unlocked = await send(root, `${userPage('sara')}/unlock`, {}, 303);
    expect(unlocked.headers.location).toBe(`${userPage('sara')}?done=unlocked`);
    expect((await root.get(unlocked.headers.location ?? '').expect(200)).text).toContain(
      'The account is unlocked',
    );
    expect((await portal.services.users.findById(userId))?.locked_until).toBe(null);

    const form = await root.get(`${userPage('sara')}/bypass`).expect(200);
    expect(form.text).toContain('value="300"');
    const wrong = await send(root, `${userPage('sara')}/bypass`, { seconds: 'soon', reason: ' ' });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('href="#seconds"');
    expect(wrong.text).toContain('href="#reason"');
    expect(wrong.text).toContain('value="soon"');
    const issued = await send(
      root,
      `${userPage('sara')}/bypass`,
      {
        seconds: '600',
        reason: 'phone lost',
      },
      303,
    );
    expect(issued.headers.location).toBe(`${userPage('sara')}?done=bypass`);
    const bypass = await portal.services.bypasses.pending({ id: userId });
    expect(bypass?.issuedBy).toBe('admin');
    expect(bypass?.expiresAt).toBeGreaterThan(Date.now() + 590_000);

    await root.get(`${userPage('sara')}/pin`).expect(200);
    expect(
      (await send(root, `${userPage('sara')}/pin`, { pin: '', pinConfirmation: '' })).status,
    ).toBe(400);
    const weak = await send(root, `${userPage('sara')}/pin`, {
      mode: 'set',
      pin: '1234',
      pinConfirmation: '1234',
    });
    expect(weak.status).toBe(400);
    expect(weak.text).toContain('href="#pin"');
    // Someone else's PIN: the administrator does not read "Your PIN".
    expect(weak.text).toContain('The PIN cannot be a series such as 1234 or 4321');
    expect(weak.text).not.toContain('Your PIN');
    expect((await portal.services.users.findById(userId))?.pin_hash).toBe(null);
    const set = await send(
      root,
      `${userPage('sara')}/pin`,
      {
        mode: 'set',
        pin: '4820',
        pinConfirmation: '4820',
      },
      303,
    );
    expect(set.headers.location).toBe(`${userPage('sara')}?done=pin`);
    const typedHash = (await portal.services.users.findById(userId))?.pin_hash;
    expect(typedHash).toMatch(/^\$argon2id\$/);
    const generated = await send(
      root,
      `${userPage('sara')}/pin`,
      {
        mode: 'generate',
        pin: '',
        pinConfirmation: '',
      },
      200,
    );
    expect(generated.headers['cache-control']).toBe('no-store');
    expect(generated.text).toMatch(/<code class="secret">\d{4}<\/code>/);
    expect((await portal.services.users.findById(userId))?.pin_hash).not.toBe(typedHash);

    const disabled = await send(root, `${userPage('sara')}/disable`, {}, 303);
    expect(disabled.headers.location).toBe(`${userPage('sara')}?done=disabled`);
    expect((await portal.services.users.findById(userId))?.disabled).toBe(1);
    await send(root, `${userPage('sara')}/enable`, {}, 303);
    expect((await portal.services.users.findById(userId))?.disabled).toBe(0);

    const audited = await db
      .selectFrom('audit_events')
      .select(['type', 'admin_id'])
      .where('user_id', '=', userId)
      .where('type', '<>', 'user.created')
      .orderBy('occurred_at')
      .execute();
    expect(audited).toEqual(
      [
        'account.unlocked',
        'bypass.issued',
        'change.pin',
        'change.pin',
        'account.disabled',
        'account.enabled',
      ].map((type) => ({ type, admin_id: ids.root })),
    );
  });
});

describe('admin console: the rights of each administrator, checked on the server (SPEC A1)', () => {
  const actions: [string, Record<string, string>][] = [
    ['unlock', {}],
    ['bypass', { seconds: '300', reason: 'phone lost' }],
    ['pin', { mode: 'generate', pin: '', pinConfirmation: '' }],
    ['pin', { mode: 'set', pin: '4820', pinConfirmation: '4820' }],
    ['disable', {}],
    ['enable', {}],
  ];

  it('lets a scoped administrator find and act only within their group', async () => {
    const list = await scoped.get('/admin/users').expect(200);
    expect(list.text).toContain('>sara</a>');
    expect(list.text).not.toContain('>henk</a>');
    expect((await scoped.get('/admin/users?group=hr').expect(200)).text).toContain(
      'No user matches the search.',
    );
    const page = await scoped.get(userPage('sara')).expect(200);
    expect(page.text).toContain('Issue a one-time bypass');
    await scoped.get(`${userPage('sara')}/bypass`).expect(200);
    await send(scoped, `${userPage('sara')}/bypass`, { seconds: '300', reason: 'test' }, 303);
  });

  it('refuses a scoped administrator every page and action outside their group, changing nothing', async () => {
    for (const outside of ['henk', 'root']) {
      const before = await stateOf(ids[outside] ?? '');
      for (const path of ['', '/bypass', '/pin']) {
        const refused = await scoped.get(`${userPage(outside)}${path}`).expect(403);
        expect(refused.text, `${outside}${path}`).toContain(forbidden);
      }
      for (const [action, fields] of actions) {
        const refused = await send(scoped, `${userPage(outside)}/${action}`, fields);
        expect(refused.status, `${outside} ${action}`).toBe(403);
        expect(refused.text).toContain(forbidden);
      }
      // A wrong form is refused for the right first: nothing tells what the form would take.
      expect(
        (await send(scoped, `${userPage(outside)}/bypass`, { seconds: 'x', reason: '' })).status,
      ).toBe(403);
      expect(await stateOf(ids[outside] ?? ''), outside).toBe(before);
    }
    // An id of no one gets the same answer: nothing tells who exists outside the groups.
    const nobody = '/admin/users/00000000-0000-4000-8000-000000000000';
    expect((await scoped.get(nobody).expect(403)).text).toContain(forbidden);
    expect((await send(scoped, `${nobody}/unlock`)).status).toBe(403);
    await root.get(nobody).expect(404);
    const dutch = await scoped.get(`${userPage('henk')}?lng=nl`).expect(403);
    expect(dutch.text).toContain('U hebt geen toegang tot deze pagina');
    await scoped.get('/admin/users?lng=en').expect(200);
  });

  it('lets no administrator act on their own account: My account asks for a proof first (J3, M8)', async () => {
    // Sven works in the group he helps; the root holds every permission for every group.
    await portal.services.database.db
      .updateTable('users')
      .set({ user_group: 'sales' })
      .where('id', '=', ids.sven ?? '')
      .execute();
    for (const [agent, self] of [
      [root, 'root'],
      [scoped, 'sven'],
    ] as const) {
      await portal.services.database.db
        .updateTable('users')
        .set({ locked_until: Date.now() + 600_000, failed_count: 5 })
        .where('id', '=', ids[self] ?? '')
        .execute();
      const before = await stateOf(ids[self] ?? '');
      const page = await agent.get(userPage(self)).expect(200);
      expect(page.text, self).toContain('This is your own account');
      expect(page.text).toContain('href="/account"');
      expect(page.text).not.toContain('Issue a one-time bypass');
      expect(page.text).not.toContain('Unlock the account');
      for (const path of ['/bypass', '/pin']) {
        expect((await agent.get(`${userPage(self)}${path}`)).status, `${self}${path}`).toBe(403);
      }
      for (const [action, fields] of actions) {
        const refused = await send(agent, `${userPage(self)}/${action}`, fields);
        expect(refused.status, `${self} ${action}`).toBe(403);
        expect(refused.text).toContain(forbidden);
      }
      expect(await stateOf(ids[self] ?? ''), self).toBe(before);
    }
  });

  it('refuses an administrator without the permission, whatever the group', async () => {
    const viewer = await administrator('vera', [['view-users', null]]);
    const before = await stateOf(ids.henk ?? '');
    const page = await viewer.get(userPage('henk')).expect(200);
    expect(page.text).toContain('Your permissions allow no action on this user.');
    for (const [action, fields] of actions) {
      expect((await send(viewer, `${userPage('henk')}/${action}`, fields)).status, action).toBe(
        403,
      );
    }
    await viewer.get(`${userPage('henk')}/pin`).expect(403);
    expect(await stateOf(ids.henk ?? '')).toBe(before);
  });

  it('refuses a plain user everywhere under /admin, changing nothing', async () => {
    const before = await stateOf(ids.sara ?? '');
    for (const path of [
      '/admin',
      '/admin/users',
      userPage('sara'),
      `${userPage('sara')}/bypass`,
      `${userPage('sara')}/pin`,
    ]) {
      const refused = await plain.get(path).redirects(0);
      expect(refused.status, path).toBe(403);
      expect(refused.text).toContain(forbidden);
    }
    const token = csrfTokenFrom((await plain.get('/account').expect(200)).text);
    for (const [action, fields] of actions) {
      const refused = await plain
        .post(`${userPage('sara')}/${action}`)
        .type('form')
        .send({ _csrf: token, ...fields })
        .redirects(0);
      expect(refused.status, action).toBe(403);
    }
    expect(await stateOf(ids.sara ?? '')).toBe(before);
  });
});
