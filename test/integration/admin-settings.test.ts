import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPermissions } from '../../src/core/administrators.ts';
import { settingGroups } from '../../src/core/service/settings-admin.ts';
import { defaultSettings, settingRules, type PortalSettings } from '../../src/core/settings.ts';
import { notAllowedHeading, sendAdminForm, signedInAdministrator } from '../helpers/admin.ts';
import { createTestPortal, headingOf, type TestPortal } from '../helpers/app.ts';

/*
 * SPEC A3, §5 and the trusted IPs of J1 in the admin console: every setting's bounds refused
 * with its own message, a group saved together and each change audited with the old and new
 * value and the administrator, the change seen by a second portal on the same database, the
 * trusted-IP list and its test box, and the 403 for anyone without "manage settings" for every
 * group. Runs on SQLite and on PostgreSQL.
 */

type Agent = ReturnType<typeof supertest.agent>;

let portal: TestPortal;
let root: Agent;
let rootId: string;
let scoped: Agent;
let plain: Agent;

beforeAll(async () => {
  portal = await createTestPortal({ PORTAL_URL: 'https://mfa.example.org' });
  ({ agent: root, id: rootId } = await signedInAdministrator(
    portal,
    'root',
    adminPermissions.map((permission) => [permission, null]),
  ));
  ({ agent: scoped } = await signedInAdministrator(portal, 'sven', [['manage-settings', 'sales']]));
  ({ agent: plain } = await signedInAdministrator(portal, 'petra', [['view-users', null]]));
});

afterAll(async () => {
  await portal.close();
});

const decoded = (html: string) =>
  html.replaceAll('&#39;', "'").replaceAll('&quot;', '"').replaceAll('&amp;', '&');

/** The messages of the page's error summary, in order. */
function summaryOf(html: string): string[] {
  const summary = /<div class="error-summary"[\s\S]*?<\/div>/.exec(html)?.[0] ?? '';
  return [...summary.matchAll(/<a href="#[^"]*">([^<]*)<\/a>/g)].map((m) => decoded(m[1] ?? ''));
}

const stored = () =>
  portal.services.mfa.settingsAdmin.current({
    actor: { kind: 'admin', adminId: rootId },
    clientIp: undefined,
    language: 'en',
  });

/** The audit records of settings changed by the root administrator, oldest first. */
async function changesByRoot(): Promise<{ reason: string | null; admin_id: string | null }[]> {
  return portal.services.database.db
    .selectFrom('audit_events')
    .select(['reason', 'admin_id'])
    .where('type', '=', 'settings.changed')
    .where('admin_id', '=', rootId)
    .orderBy('occurred_at')
    .execute();
}

/** Everything a refused or read-only request must leave as it was. */
async function savedState(): Promise<string> {
  const { db } = portal.services.database;
  return JSON.stringify([
    await db.selectFrom('settings').selectAll().orderBy('key').execute(),
    await db.selectFrom('audit_events').select('id').orderBy('id').execute(),
  ]);
}

/** A group's form filled in with the current values, as its page sends it. */
function formOf(group: (typeof settingGroups)[number], settings: PortalSettings) {
  const fields: Record<string, string> = {};
  for (const key of group.keys) {
    const rule = settingRules[key];
    const value = settings[key];
    if (rule.kind === 'flag') {
      if (value === true) fields[key] = 'true';
    } else if (Array.isArray(value)) {
      for (const method of value) fields[`${key}-${method}`] = 'true';
    } else fields[key] = String(value);
  }
  return fields;
}

describe('Portal settings in the admin console (SPEC A3, §5)', () => {
  it('lists every group with its values and the deployment settings read-only', async () => {
    const home = await root.get('/admin').expect(200);
    expect(home.text).toContain('href="/admin/settings"');
    const page = await root.get('/admin/settings').expect(200);
    expect(headingOf(page.text)).toBe('Portal settings');
    for (const group of settingGroups) {
      expect(page.text).toContain(`href="/admin/settings/${group.id}"`);
      await root.get(`/admin/settings/${group.id}`).expect(200);
    }
    expect(page.text).toContain('https://mfa.example.org');
    expect(page.text).toContain('<code>PORTAL_URL</code>');
    expect(page.text).toContain('The portal&#39;s own directory');
    expect(page.text).toContain('<code>PRIMARY_AUTHENTICATION</code>');
    expect(page.text).toContain('<code>LOG_FILE_DIRECTORY</code>');
    await root.get('/admin/settings/colours').expect(404);
  });

  it.each(settingGroups.filter((g) => g.keys.some((k) => settingRules[k].kind === 'whole')))(
    'refuses each bound of "$id" with its message, keeps what was typed and saves nothing',
    async (group) => {
      const before = await savedState();
      const current = await stored();
      const page = await root.get(`/admin/settings/${group.id}`).expect(200);
      const labels = Object.fromEntries(
        group.keys.map((key) => {
          const label = new RegExp(`<(?:label for|legend)[^>]*"${key}"[^>]*>([^<]*)<`).exec(
            page.text,
          );
          return [key, decoded(label?.[1] ?? '')];
        }),
      );
      for (const side of ['below', 'above'] as const) {
        const fields = formOf(group, current);
        const expected: string[] = [];
        for (const key of group.keys) {
          const rule = settingRules[key];
          if (rule.kind !== 'whole') continue;
          fields[key] = String(side === 'below' ? rule.min - 1 : rule.max + 1);
          expected.push(
            `${labels[key] ?? ''}: enter a whole number from ${rule.min} to ${rule.max}`,
          );
        }
        const refused = await sendAdminForm(root, `/admin/settings/${group.id}`, fields, 400);
        expect(summaryOf(refused.text)).toEqual(expected);
        for (const key of group.keys.filter((k) => settingRules[k].kind === 'whole')) {
          expect(refused.text).toContain(`name="${key}" type="text" value="${fields[key] ?? ''}"`);
        }
      }
      expect(await savedState()).toBe(before);
    },
  );

  it('refuses a fraud code that is not 1 to 4 digits and a method list with none', async () => {
    const before = await savedState();
    const current = await stored();
    const lockout = settingGroups.find((g) => g.id === 'lockout');
    const methods = settingGroups.find((g) => g.id === 'methods');
    if (!lockout || !methods) throw new Error('no such group');
    for (const code of ['', '12345', '1a']) {
      const fields = { ...formOf(lockout, current), fraudCode: code };
      const refused = await sendAdminForm(root, '/admin/settings/lockout', fields, 400);
      expect(summaryOf(refused.text)).toEqual(['Fraud code: enter 1 to 4 digits']);
    }
    const none = Object.fromEntries(
      Object.entries(formOf(methods, current)).filter(
        ([key]) => !key.startsWith('allowedMethods-'),
      ),
    );
    const refused = await sendAdminForm(root, '/admin/settings/methods', none, 400);
    expect(summaryOf(refused.text)).toEqual(['Methods users may use: choose at least one method']);
    expect(refused.text).toMatch(/<fieldset id="allowedMethods" aria-describedby="[^"]*-error"/);
    expect(await savedState()).toBe(before);
  });

  it('saves a group together and audits each changed setting with its old and new value', async () => {
    const audited = (await changesByRoot()).length;
    const lockout = settingGroups.find((g) => g.id === 'lockout');
    if (!lockout) throw new Error('no such group');
    const fields = formOf(lockout, await stored());
    fields.lockoutThreshold = '3';
    fields.fraudCode = '9';
    delete fields.fraudAutoBlock;
    const saved = await sendAdminForm(root, '/admin/settings/lockout', fields, 303);
    expect(saved.headers.location).toBe('/admin/settings?done=saved#lockout');
    const after = await stored();
    expect(after).toMatchObject({
      lockoutThreshold: 3,
      lockoutMinutes: defaultSettings.lockoutMinutes,
      fraudCode: '9',
      fraudAutoBlock: false,
    });
    expect((await changesByRoot()).slice(audited)).toEqual([
      { reason: 'lockoutThreshold: 5 → 3', admin_id: rootId },
      { reason: 'fraudCode: 0 → 9', admin_id: rootId },
      { reason: 'fraudAutoBlock: true → false', admin_id: rootId },
    ]);
    const page = await root.get('/admin/settings?done=saved').expect(200);
    expect(page.text).toContain('The settings are saved.');

    const again = await sendAdminForm(root, '/admin/settings/lockout', fields, 303);
    expect(again.headers.location).toBe('/admin/settings?done=unchanged#lockout');
    expect((await changesByRoot()).length).toBe(audited + 3);
  });

  it('saves the method list and the choices of the methods group', async () => {
    const methods = settingGroups.find((g) => g.id === 'methods');
    if (!methods) throw new Error('no such group');
    const fields = formOf(methods, await stored());
    delete fields['allowedMethods-phone'];
    fields.defaultMethod = 'token';
    fields.questionsToAnswer = '3';
    await sendAdminForm(root, '/admin/settings/methods', fields, 303);
    expect(await stored()).toMatchObject({
      allowedMethods: ['sms', 'app', 'token'],
      defaultMethod: 'token',
      questionsToAnswer: 3,
    });
    const page = await root.get('/admin/settings/methods').expect(200);
    expect(page.text).toMatch(
      /id="allowedMethods-phone" name="allowedMethods-phone" value="true">/,
    );
    expect(page.text).toMatch(
      /id="defaultMethod-token" name="defaultMethod" value="token" checked>/,
    );
    // Restored for the tests after this one.
    await sendAdminForm(root, '/admin/settings/methods', formOf(methods, defaultSettings), 303);
  });

  it('refuses more questions to answer than to enrol, as the questions page does', async () => {
    const methods = settingGroups.find((g) => g.id === 'methods');
    if (!methods) throw new Error('no such group');
    const before = await savedState();
    const fields = formOf(methods, await stored());
    Object.assign(fields, { questionsToEnrol: '2', questionsToAnswer: '3' });
    const refused = await sendAdminForm(root, '/admin/settings/methods', fields, 400);
    expect(summaryOf(refused.text)).toEqual([
      'Enter a whole number from 1 to 2, no more than the questions to enrol',
    ]);
    expect(await savedState()).toBe(before);
    const cli = { actor: { kind: 'cli' as const }, clientIp: undefined, language: 'en' };
    const { administration } = portal.services.mfa;
    await expect(
      administration.changeSetting(cli, { key: 'questionsToAnswer', value: '5' }),
    ).resolves.toMatchObject({ outcome: 'invalid' });
    expect(await savedState()).toBe(before);
  });

  it('is in force on a second portal on the same database within seconds', async () => {
    const second = await createTestPortal({ DATABASE_URL: portal.config.DATABASE_URL });
    try {
      const cli = { actor: { kind: 'cli' }, clientIp: undefined, language: 'en' } as const;
      // The second portal has read (and cached) the settings before the change.
      expect((await second.services.mfa.signIn.settings(cli)).deviceLimit).toBe(
        defaultSettings.deviceLimit,
      );
      const app = settingGroups.find((g) => g.id === 'app');
      if (!app) throw new Error('no such group');
      const fields = { ...formOf(app, await stored()), deviceLimit: '7' };
      const savedAt = Date.now();
      await sendAdminForm(root, '/admin/settings/app', fields, 303);
      let seen = 0;
      while (Date.now() - savedAt < 5000) {
        seen = (await second.services.mfa.signIn.settings(cli)).deviceLimit;
        if (seen === 7) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(seen).toBe(7);
      expect(Date.now() - savedAt).toBeLessThan(3000);
    } finally {
      await second.close();
    }
  });

  it.each([
    ['an administrator with "manage settings" for one group', () => scoped],
    ['an administrator without "manage settings"', () => plain],
  ])('is refused to %s with the 403 page, nothing changed', async (_who, agentOf) => {
    const agent = agentOf();
    const home = await agent.get('/admin').expect(200);
    expect(home.text).not.toContain('href="/admin/settings"');
    const before = await savedState();
    for (const path of [
      '/admin/settings',
      '/admin/settings/lockout',
      '/admin/settings/trusted-ips',
      '/admin/settings/trusted-ips?address=10.0.0.1',
    ]) {
      const refused = await agent.get(path).expect(403);
      expect(headingOf(refused.text), path).toBe(notAllowedHeading);
    }
    for (const [path, fields] of [
      ['/admin/settings/lockout', { lockoutThreshold: '2', fraudCode: '1', lockoutMinutes: '1' }],
      ['/admin/settings/trusted-ips', { trustedIps: '0.0.0.0/0' }],
    ] as const) {
      const refused = await sendAdminForm(agent, path, fields, 403);
      expect(headingOf(refused.text), path).toBe(notAllowedHeading);
    }
    expect(await savedState()).toBe(before);
  });
});

describe('Trusted IPs (SPEC J1, §5)', () => {
  const list = ['10.0.0.0/8', '2001:db8::/32', '192.0.2.1-192.0.2.99', '198.51.100.7', '::1'];

  it('refuses an entry that is not an address, a range or a CIDR block, naming it', async () => {
    const before = await savedState();
    for (const wrong of [
      '10.0.0.0/33',
      '192.0.2.99-192.0.2.1',
      '10.0.0.1-2001:db8::1',
      'intranet',
    ]) {
      const typed = `10.0.0.0/8\n${wrong}`;
      const refused = await sendAdminForm(root, '/admin/settings/trusted-ips', {
        trustedIps: typed,
      });
      expect(refused.status, wrong).toBe(400);
      expect(summaryOf(refused.text)).toEqual([
        `Trusted IPs: “${wrong}” is not an IP address, a range or a CIDR block`,
      ]);
      expect(decoded(refused.text)).toContain(
        `spellcheck="false" autocapitalize="none">\n${typed}</textarea>`,
      );
    }
    expect(await savedState()).toBe(before);
  });

  it('saves single addresses, ranges and CIDR blocks, IPv4 and IPv6, audited', async () => {
    const saved = await sendAdminForm(
      root,
      '/admin/settings/trusted-ips',
      { trustedIps: `${list.join('\r\n')}\r\n\r\n` },
      303,
    );
    expect(saved.headers.location).toBe('/admin/settings/trusted-ips?done=saved');
    expect((await stored()).trustedIps).toEqual(list);
    expect((await changesByRoot()).at(-1)).toEqual({
      reason: `trustedIps:  → ${list.join(',')}`,
      admin_id: rootId,
    });
    const page = await root.get('/admin/settings/trusted-ips?done=saved').expect(200);
    expect(page.text).toContain(`autocapitalize="none">\n${list.join('\n')}</textarea>`);
  });

  it.each([
    ['10.20.30.40', true, 'IPv4 in a CIDR block'],
    ['11.0.0.1', false, 'IPv4 outside it'],
    ['192.0.2.50', true, 'IPv4 in a range'],
    ['192.0.2.100', false, 'IPv4 past the range'],
    ['198.51.100.7', true, 'a single IPv4 address'],
    ['198.51.100.8', false, 'the address after it'],
    ['::ffff:10.1.1.1', true, 'IPv4 written as IPv6'],
    ['2001:db8:ffff::1', true, 'IPv6 in a CIDR block'],
    ['2001:db9::1', false, 'IPv6 outside it'],
    ['::1', true, 'a single IPv6 address'],
  ])('the test box answers for %s (%s: %s) and writes nothing', async (address, trusted) => {
    const before = await savedState();
    const page = await root
      .get(`/admin/settings/trusted-ips?address=${encodeURIComponent(address)}`)
      .expect(200);
    const shown = address.replace(/^::ffff:/, '');
    expect(page.text).toContain(
      trusted
        ? `A sign-in from ${shown} would skip the second step.`
        : `A sign-in from ${shown} would have a second step.`,
    );
    expect(page.text).toContain(`name="address" type="text" value="${address}"`);
    expect(await savedState()).toBe(before);
  });

  it('the test box refuses what is not an address with 400', async () => {
    const before = await savedState();
    for (const wrong of ['intranet', '10.0.0.0/8', '300.1.1.1', '']) {
      const page = await root
        .get(`/admin/settings/trusted-ips?address=${encodeURIComponent(wrong)}`)
        .expect(400);
      expect(summaryOf(page.text)).toEqual([
        'Enter an IPv4 or IPv6 address, such as 192.0.2.10 or 2001:db8::1',
      ]);
    }
    await root.get('/admin/settings/trusted-ips?address=1&address=2').expect(400);
    expect(await savedState()).toBe(before);
  });
});
