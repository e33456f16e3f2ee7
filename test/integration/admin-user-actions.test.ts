import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { adminPermissions } from '../../src/core/administrators.ts';
import {
  accountOf,
  accountPassword,
  addDevice,
  createAppUser,
  devicesOf,
  editUser,
} from '../helpers/account.ts';
import {
  notAllowedHeading,
  sendAdminForm,
  signedInAdministrator,
  userState,
} from '../helpers/admin.ts';
import { createTestPortal, headingOf, type TestPortal } from '../helpers/app.ts';
import { cliContext } from '../helpers/context.ts';
import { startSmtpServer } from '../helpers/smtp.ts';

/*
 * SPEC A1, A2, N2: the console's actions on users beyond finding them, each through its pages
 * as an administrator's browser sends them, with the rights of each administrator checked on
 * the server.
 */

type Agent = ReturnType<typeof supertest.agent>;

const forbidden = notAllowedHeading;

let portal: TestPortal;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
const ids: Record<string, string> = {};
let root: Agent;
let scoped: Agent;

async function administrator(username: string, grants: [string, string | null][]) {
  const { id, agent } = await signedInAdministrator(portal, username, grants);
  ids[username] = id;
  return agent;
}

/** A user of `group` with the mobile app, and with `email`. */
async function appUser(username: string, group: string | null, email: string | null = null) {
  await createAppUser(portal.services, username, accountPassword);
  const { id } = await accountOf(portal.services, username);
  await portal.services.database.db
    .updateTable('users')
    .set({ user_group: group })
    .where('id', '=', id)
    .execute();
  if (email) await editUser(portal.services, id, { email });
  ids[username] = id;
  return id;
}

const send = sendAdminForm;
const stateOf = (userId: string) => userState(portal, userId);

const auditOf = (userId: string, type: string) =>
  portal.services.database.db
    .selectFrom('audit_events')
    .select(['type', 'admin_id', 'device'])
    .where('user_id', '=', userId)
    .where('type', '=', type)
    .execute();

const userPage = (username: string) => `/admin/users/${ids[username] ?? ''}`;

beforeAll(async () => {
  smtp = await startSmtpServer();
  portal = await createTestPortal(smtp.config);
  root = await administrator(
    'root',
    adminPermissions.map((permission) => [permission, null]),
  );
  scoped = await administrator('sven', [
    ['view-users', 'sales'],
    ['reset-devices', 'sales'],
    ['add-users', 'sales'],
    ['edit-users', 'sales'],
    ['delete-users', 'sales'],
  ]);
});
afterAll(async () => {
  await portal.close();
  await smtp.close();
});

describe('deactivating a user’s devices and tokens (SPEC A2, "reset devices")', () => {
  it('removes one device at a time after a confirmation, audited, and tells the user by email', async () => {
    const userId = await appUser('dora', 'sales', 'dora@example.test');
    await addDevice(portal.services, userId, { kind: 'token', name: 'TOK-1' });
    await smtp.waitFor(1); // "a method was added"
    smtp.received.length = 0;
    const [app, token] = await devicesOf(portal.services, userId);
    const page = await root.get(userPage('dora')).expect(200);
    const appPath = `${userPage('dora')}/devices/${app?.id ?? ''}/remove`;
    const tokenPath = `${userPage('dora')}/devices/${token?.id ?? ''}/remove`;
    expect(page.text).toContain(`href="${appPath}"`);
    expect(page.text).toContain(`href="${tokenPath}"`);
    expect(page.text).toContain('Remove the token TOK-1');

    // The confirmation changes nothing.
    const before = await stateOf(userId);
    const confirm = await root.get(appPath).expect(200);
    expect(headingOf(confirm.text)).toBe('Deactivate a mobile app device');
    expect(confirm.text).not.toContain('only method');
    expect(await stateOf(userId)).toBe(before);

    const removed = await send(root, appPath);
    expect(removed.status).toBe(303);
    expect(removed.headers.location).toBe(`${userPage('dora')}?done=app-removed`);
    expect((await root.get(removed.headers.location ?? '').expect(200)).text).toContain(
      'The device is deactivated.',
    );
    expect((await devicesOf(portal.services, userId)).map((d) => d.id)).toEqual([token?.id]);
    expect(await auditOf(userId, 'device.removed')).toEqual([
      { type: 'device.removed', admin_id: ids.root, device: app?.name },
    ]);
    const [mail] = await smtp.waitFor(1);
    expect(mail?.to).toEqual(['dora@example.test']);
    expect(mail?.subject).toBe('Security notice: a method was removed from your account');

    // The token is now the last method: the page says so, and it may still go.
    const last = await root.get(tokenPath).expect(200);
    expect(headingOf(last.text)).toBe('Remove an OATH token');
    expect(last.text).toContain('This is the user&#39;s only method');
    expect((await send(root, tokenPath)).headers.location).toBe(
      `${userPage('dora')}?done=token-removed`,
    );
    expect(await devicesOf(portal.services, userId)).toEqual([]);
    expect(await auditOf(userId, 'token.removed')).toEqual([
      { type: 'token.removed', admin_id: ids.root, device: 'TOK-1' },
    ]);
    // Gone already: nothing to confirm or remove.
    await root.get(tokenPath).expect(404);
    expect((await send(root, tokenPath)).status).toBe(404);
  });

  it('is refused outside the administrator’s groups and without the permission, changing nothing', async () => {
    const userId = await appUser('hugo', 'hr');
    const [device] = await devicesOf(portal.services, userId);
    const path = `${userPage('hugo')}/devices/${device?.id ?? ''}/remove`;
    const viewer = await administrator('vic', [['view-users', null]]);
    const before = await stateOf(userId);
    for (const agent of [scoped, viewer]) {
      const refused = await agent.get(path).expect(403);
      expect(refused.text).toContain(forbidden);
      expect((await send(agent, path)).status).toBe(403);
    }
    expect((await viewer.get(userPage('hugo')).expect(200)).text).not.toContain(path);
    expect(await stateOf(userId)).toBe(before);
    const dutch = await scoped.get(`${path}?lng=nl`).expect(403);
    expect(dutch.text).toContain('U hebt geen toegang tot deze pagina');
    await scoped.get('/admin?lng=en').expect(200);
    // Within the group the same administrator may.
    const salesId = await appUser('selma', 'sales');
    const [own] = await devicesOf(portal.services, salesId);
    const removed = await send(scoped, `${userPage('selma')}/devices/${own?.id ?? ''}/remove`);
    expect(removed.status).toBe(303);
  });
});

describe('adding a user and editing their details (SPEC A2, "add users", "edit users")', () => {
  const filled = {
    username: 'nadia',
    displayName: 'Nadia Test',
    email: 'nadia@example.test',
    group: 'sales',
    language: 'nl',
    phone: '+31 20 123 4567',
    phoneExtension: '12',
    backupPhone: '',
    backupExtension: '',
    mobilePhone: '+31 6 1234 5678',
  };

  it('adds a user with every field, audited with the administrator', async () => {
    const search = await root.get('/admin/users').expect(200);
    expect(search.text).toContain('href="/admin/users/new"');
    const form = await root.get('/admin/users/new').expect(200);
    expect(headingOf(form.text)).toBe('Add a user');
    // Every group is allowed: the group is typed.
    expect(form.text).toMatch(/<input id="group" name="group" type="text"/);
    const added = await send(root, '/admin/users/new', filled);
    expect(added.status).toBe(303);
    const account = await accountOf(portal.services, 'nadia');
    expect(added.headers.location).toBe(`/admin/users/${account.id}?done=created`);
    expect((await root.get(added.headers.location ?? '').expect(200)).text).toContain(
      'The user is added.',
    );
    expect(account).toMatchObject({
      displayName: 'Nadia Test',
      email: 'nadia@example.test',
      group: 'sales',
      language: 'nl',
      role: 'user',
      phone: '+31201234567',
      phoneExtension: '12',
      mobilePhone: '+31612345678',
      methods: ['phone', 'sms'],
    });
    expect(await auditOf(account.id, 'user.created')).toEqual([
      { type: 'user.created', admin_id: ids.root, device: null },
    ]);
  });

  it('re-renders a wrong form with 400, an error summary and what was typed, adding nobody', async () => {
    const wrong = await send(root, '/admin/users/new', {
      ...filled,
      username: 'with space',
      email: 'not-an-address',
      phone: '12',
      backupPhone: '+31 20 765 4321',
    });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('<title>Error: Add a user');
    for (const field of ['username', 'email', 'phone']) {
      expect(wrong.text).toContain(`href="#${field}"`);
    }
    expect(wrong.text).toContain('value="not-an-address"');
    const taken = await send(root, '/admin/users/new', { ...filled });
    expect(taken.status).toBe(400);
    expect(taken.text).toContain('A user with this username exists already');
    const empty = await send(root, '/admin/users/new', { ...filled, username: ' ' });
    expect(empty.text).toContain('Enter a username');
    expect(
      await portal.services.mfa.administration.findUser(cliContext, { username: 'with space' }),
    ).toBe(null);
    const dutch = await send(root, '/admin/users/new?lng=nl', { ...filled, username: '' });
    expect(dutch.status).toBe(400);
    expect(dutch.text).toContain('Voer een gebruikersnaam in');
    await root.get('/admin?lng=en').expect(200);
  });

  it('offers a scoped administrator only their groups, and refuses any other', async () => {
    const form = await scoped.get('/admin/users/new').expect(200);
    expect(form.text).toContain('<option value="sales">sales</option>');
    expect(form.text).not.toMatch(/<input id="group"/);
    const fields = { ...filled, username: 'olaf', email: '', mobilePhone: '' };
    for (const group of ['hr', '']) {
      const refused = await send(scoped, '/admin/users/new', { ...fields, group });
      expect(refused.status, group).toBe(403);
      expect(refused.text).toContain(forbidden);
    }
    expect(
      await portal.services.mfa.administration.findUser(cliContext, { username: 'olaf' }),
    ).toBe(null);
    expect((await send(scoped, '/admin/users/new', fields)).status).toBe(303);
    const viewer = await administrator('walt', [['view-users', null]]);
    await viewer.get('/admin/users/new').expect(403);
    expect((await viewer.get('/admin/users').expect(200)).text).not.toContain('/admin/users/new');
  });

  it('edits the details, the group only within the administrator’s groups', async () => {
    const { id } = await accountOf(portal.services, 'olaf');
    ids.olaf = id;
    const page = await scoped.get(userPage('olaf')).expect(200);
    expect(page.text).toContain(`href="${userPage('olaf')}/edit"`);
    const form = await scoped.get(`${userPage('olaf')}/edit`).expect(200);
    expect(headingOf(form.text)).toBe('Edit user olaf');
    expect(form.text).toContain('value="Nadia Test"');
    expect(form.text).toContain('<option value="sales" selected>');
    const edit = {
      displayName: 'Olaf Test',
      email: 'olaf@example.test',
      group: 'sales',
      language: 'fr',
      phone: '',
      phoneExtension: '',
      backupPhone: '',
      backupExtension: '',
      mobilePhone: '+32 470 12 34 56',
    };
    const wrong = await send(scoped, `${userPage('olaf')}/edit`, { ...edit, email: 'x@' });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('href="#email"');
    const saved = await send(scoped, `${userPage('olaf')}/edit`, edit);
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toBe(`${userPage('olaf')}?done=saved`);
    expect(await accountOf(portal.services, 'olaf')).toMatchObject({
      displayName: 'Olaf Test',
      email: 'olaf@example.test',
      language: 'fr',
      phone: null,
      mobilePhone: '+32470123456',
    });
    expect(await auditOf(id, 'user.updated')).toEqual([
      { type: 'user.updated', admin_id: ids.sven, device: null },
    ]);
    // Out of the administrator's groups: refused, nothing changed.
    const before = await stateOf(id);
    for (const group of ['hr', '']) {
      const moved = await send(scoped, `${userPage('olaf')}/edit`, { ...edit, group });
      expect(moved.status, group).toBe(403);
    }
    expect(await stateOf(id)).toBe(before);
    // Root may move the user anywhere; then the scoped administrator no longer reaches them.
    expect((await send(root, `${userPage('olaf')}/edit`, { ...edit, group: 'hr' })).status).toBe(
      303,
    );
    await scoped.get(`${userPage('olaf')}/edit`).expect(403);
    expect((await send(scoped, `${userPage('olaf')}/edit`, edit)).status).toBe(403);
  });
});

describe('numbers changed by an administrator (SPEC A2, N2)', () => {
  const reasonsOf = async (userId: string) =>
    (
      await portal.services.database.db
        .selectFrom('audit_events')
        .select(['reason', 'phone'])
        .where('user_id', '=', userId)
        .where('type', '=', 'user.updated')
        .orderBy('occurred_at')
        .orderBy('id')
        .execute()
    ).map((e) => [e.reason, e.phone]);

  it('tells the user by email at the address they had, and audits what changed only', async () => {
    const userId = await appUser('ulla', 'sales', 'ulla@example.test');
    // The edit form as sent, its number fields empty.
    const numberFields = [
      'phone',
      'phoneExtension',
      'backupPhone',
      'backupExtension',
      'mobilePhone',
    ];
    const details = {
      ...Object.fromEntries(numberFields.map((field) => [field, ''])),
      displayName: 'Ulla Test',
      email: 'ulla@example.test',
      group: 'sales',
      language: 'en',
      // The method the form shows chosen: the user's own.
      defaultMethod: (await portal.services.users.findByUsername('ulla'))?.default_method ?? '',
    };
    await send(scoped, `${userPage('ulla')}/edit`, details, 303);
    // Earlier tests' notices may still be on their way: only this user's count.
    const ullas = () =>
      smtp.received.filter((m) =>
        m.to.some((to) => ['ulla@example.test', 'someone.else@example.test'].includes(to)),
      );
    expect(ullas()).toEqual([]);
    // A new number (a way to sign in) and a new address at once: the old address hears of it.
    const taken = { ...details, email: 'someone.else@example.test', phone: '+31 20 123 4567' };
    await send(scoped, `${userPage('ulla')}/edit`, taken, 303);
    await vi.waitFor(() => {
      expect(ullas()).toHaveLength(1);
    });
    const [mail] = ullas();
    expect(mail?.to).toEqual(['ulla@example.test']);
    expect(mail?.subject).toBe('Security notice: your sign-in details changed');
    expect(mail?.text).toContain('phone numbers for calls');
    await send(scoped, `${userPage('ulla')}/edit`, { ...taken, mobilePhone: '+31612345678' }, 303);
    await vi.waitFor(() => {
      expect(ullas()).toHaveLength(2);
    });
    expect(ullas()[1]?.to).toEqual(['someone.else@example.test']);
    expect(ullas()[1]?.text).toContain('mobile number for text messages');
    // The same details again change nothing, and no one is told.
    await send(scoped, `${userPage('ulla')}/edit`, { ...taken, mobilePhone: '+31612345678' }, 303);
    expect(await reasonsOf(userId)).toEqual([
      ['email', null],
      ['display_name, language', null],
      ['email, phone', '+31 ••• 67'],
      ['mobile_phone', '+31 ••• 78'],
      [null, null],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(ullas()).toHaveLength(2);
  });
});

describe('deleting a user (SPEC A2, "delete users")', () => {
  it('deletes a user and everything of theirs after a confirmation, the audit kept', async () => {
    const userId = await appUser('dirk', 'sales');
    const page = await scoped.get(userPage('dirk')).expect(200);
    expect(page.text).toContain(`href="${userPage('dirk')}/delete"`);
    const before = await stateOf(userId);
    const confirm = await scoped.get(`${userPage('dirk')}/delete`).expect(200);
    expect(headingOf(confirm.text)).toBe('Delete user dirk');
    expect(await stateOf(userId)).toBe(before);
    const deleted = await send(scoped, `${userPage('dirk')}/delete`);
    expect(deleted.status).toBe(303);
    expect(deleted.headers.location).toBe('/admin/users?done=deleted');
    expect((await scoped.get('/admin/users?done=deleted').expect(200)).text).toContain(
      'The user is deleted.',
    );
    const { db } = portal.services.database;
    expect(await db.selectFrom('users').select('id').where('id', '=', userId).execute()).toEqual(
      [],
    );
    expect(
      await db.selectFrom('devices').select('id').where('user_id', '=', userId).execute(),
    ).toEqual([]);
    expect(await auditOf(userId, 'user.deleted')).toEqual([
      { type: 'user.deleted', admin_id: ids.sven, device: null },
    ]);
    await scoped.get(userPage('dirk')).expect(403);
  });

  it('refuses outside the groups, without the permission, and the last manager of administrators', async () => {
    const userId = ids.hugo ?? '';
    const before = await stateOf(userId);
    const viewer = await administrator('vince', [['view-users', null]]);
    for (const agent of [scoped, viewer]) {
      await agent.get(`${userPage('hugo')}/delete`).expect(403);
      const refused = await send(agent, `${userPage('hugo')}/delete`);
      expect(refused.status).toBe(403);
      expect(refused.text).toContain(forbidden);
    }
    expect(await stateOf(userId)).toBe(before);
    // Another administrator with every right may not be deleted by a scoped one.
    expect((await send(scoped, `${userPage('root')}/delete`)).status).toBe(403);
    const rootBefore = await stateOf(ids.root ?? '');
    // The last manager of administrators could only be deleted by themselves, and no
    // administrator acts on their own account in the console (the core's 409 stays, for the CLI).
    const own = await send(root, `${userPage('root')}/delete`);
    expect(own.status).toBe(403);
    expect(await stateOf(ids.root ?? '')).toBe(rootBefore);
  });
});

describe('managing administrators (SPEC A1, "manage administrators")', () => {
  it('lists administrators, gives a permission for a group and takes it back, audited', async () => {
    const home = await root.get('/admin').expect(200);
    expect(home.text).toContain('href="/admin/administrators"');
    const list = await root.get('/admin/administrators').expect(200);
    expect(headingOf(list.text)).toBe('Manage administrators');
    expect(list.text).toContain('Delete users, for group sales');
    const userId = await appUser('greta', 'sales');
    const form = await root.get(`${userPage('greta')}/grant`).expect(200);
    expect(headingOf(form.text)).toBe('Give greta a permission');
    const wrong = await send(root, `${userPage('greta')}/grant`, { permission: '', group: '' });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('href="#permission"');
    const granted = await send(root, `${userPage('greta')}/grant`, {
      permission: 'unlock',
      group: 'sales',
    });
    expect(granted.headers.location).toBe(`${userPage('greta')}?done=granted`);
    expect((await accountOf(portal.services, 'greta')).role).toBe('admin');
    expect((await root.get(userPage('greta')).expect(200)).text).toContain(
      'Take back from greta: Unlock accounts, for group sales',
    );
    const revoked = await send(root, `/admin/administrators/${userId}/revoke`, {
      permission: 'unlock',
      group: 'sales',
    });
    expect(revoked.headers.location).toBe('/admin/administrators?done=revoked');
    expect((await accountOf(portal.services, 'greta')).role).toBe('user');
    expect(
      (await auditOf(userId, 'admin.granted')).concat(await auditOf(userId, 'admin.revoked')),
    ).toEqual([
      { type: 'admin.granted', admin_id: ids.root, device: null },
      { type: 'admin.revoked', admin_id: ids.root, device: null },
    ]);
  });

  it('refuses what the administrator does not hold, and keeps the last manager', async () => {
    const manager = await administrator('mia', [
      ['view-users', 'sales'],
      ['manage-administrators', 'sales'],
      ['unlock', 'sales'],
    ]);
    const userId = ids.greta ?? '';
    const before = await stateOf(userId);
    // Not held: unlock for every group, or reset PINs at all.
    for (const fields of [
      { permission: 'unlock', group: '' },
      { permission: 'reset-pin', group: 'sales' },
    ]) {
      const refused = await send(manager, `${userPage('greta')}/grant`, fields);
      expect(refused.status, fields.permission).toBe(403);
      expect(refused.text).toContain(forbidden);
    }
    expect(
      (await send(scoped, `${userPage('greta')}/grant`, { permission: 'unlock', group: 'sales' }))
        .status,
    ).toBe(403);
    await scoped.get('/admin/administrators').expect(403);
    expect(await stateOf(userId)).toBe(before);
    expect(
      (await send(manager, `${userPage('greta')}/grant`, { permission: 'unlock', group: 'sales' }))
        .status,
    ).toBe(303);
    const last = await send(root, `/admin/administrators/${ids.root ?? ''}/revoke`, {
      permission: 'manage-administrators',
      group: '',
    });
    expect(last.status).toBe(409);
    expect(last.text).toContain(
      'This account is the last administrator with the permission “Manage administrators”',
    );
    expect(
      (
        await portal.services.mfa.administration.permissions({
          actor: { kind: 'admin', adminId: ids.root ?? '' },
          clientIp: undefined,
          language: 'en',
        })
      ).some((g) => g.permission === 'manage-administrators'),
    ).toBe(true);
  });
});
