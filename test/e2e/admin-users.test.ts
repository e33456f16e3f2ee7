import { describe, expect, it } from 'vitest';
import { adminPermissions } from '../../src/core/administrators.ts';
import { cliContext } from '../../src/core/context.ts';
import { languages, type Language } from '../../src/i18n.ts';
import { addDevice, enrolWithApp } from '../helpers/account.ts';
import { browserMissing } from '../helpers/browser.ts';
import { appCode } from '../helpers/two-step.ts';
import {
  expectErrorSummary,
  expectPage,
  openSignInPage,
  pathOf,
  pressEnter,
  signInWithApp,
  submitSignIn,
  summaryValue,
  tabTo,
  useBrowserPortal,
  type Journey,
} from '../helpers/journey.ts';

/*
 * SPEC A2, L1, L2 in Chromium with JavaScript disabled, by keyboard, in each language: an
 * administrator finds a user with a wildcard, opens their page, corrects a wrong bypass form and
 * issues a bypass, then generates a PIN; deactivates a user's devices and tokens. Every page is checked with axe, for weight and for
 * script, as every page of the portal is.
 */

const password = 'correct horse battery staple';

const noBrowser = await browserMissing();

describe.skipIf(noBrowser)('Admin console, no JavaScript', { timeout: 120_000 }, () => {
  const portal = useBrowserPortal({ RATE_LIMIT_SIGNIN_MAX: '1000' });

  async function follow(journey: Journey, name: string, path: string, heading: string) {
    const { page } = journey;
    const link = page.getByRole('link', { name, exact: true });
    await tabTo(page, link);
    await pressEnter(page, link);
    expect(pathOf(page)).toBe(path);
    await expectPage(journey, { status: 200, heading });
  }

  it.each(languages)('in %s, finds a user, issues a bypass and generates a PIN', async (lng) => {
    const { administration } = portal.services.mfa;
    const { secret } = await enrolWithApp(portal.services, `admin-${lng}`, password, {
      language: lng,
    });
    const admin = await portal.services.users.findByUsername(`admin-${lng}`);
    for (const permission of adminPermissions) {
      await administration.grant(cliContext, { userId: admin?.id ?? '', permission, group: null });
    }
    const created = await administration.createUser(cliContext, {
      username: `helpee-${lng}`,
      displayName: 'Helpee',
      email: null,
      password,
      role: 'user',
      group: 'sales',
    });
    const userId = created.outcome === 'created' ? created.account.id : '';

    const journey = await openSignInPage(portal, lng);
    const { page, t } = journey;
    await signInWithApp(journey, `admin-${lng}`, password, secret);
    await follow(journey, t('admin.title'), '/admin', t('admin.title'));
    await follow(journey, t('adminUsers.home.link'), '/admin/users', t('adminUsers.search.title'));

    const username = page.getByLabel(t('adminUsers.search.username'), { exact: true });
    await tabTo(page, username);
    await page.keyboard.type(`helpee-${lng.slice(0, 1)}*`);
    await pressEnter(page, username);
    await expectPage(journey, { status: 200, heading: t('adminUsers.search.title') });
    const title = t('adminUsers.show.title', { username: `helpee-${lng}` });
    await follow(journey, `helpee-${lng}`, `/admin/users/${userId}`, title);

    await follow(
      journey,
      t('adminUsers.show.issueBypass'),
      `/admin/users/${userId}/bypass`,
      t('adminUsers.bypass.title'),
    );
    const reason = page.getByLabel(t('adminUsers.bypass.reason'), { exact: true });
    await tabTo(page, reason);
    await pressEnter(page, reason);
    await expectPage(journey, { status: 400, heading: t('adminUsers.bypass.title') });
    await expectErrorSummary(journey, [t('adminUsers.bypass.errors.reasonMissing')]);
    await tabTo(page, reason);
    await page.keyboard.type('phone lost');
    await pressEnter(page, reason);
    expect(pathOf(page)).toBe(`/admin/users/${userId}?done=bypass`);
    await expectPage(journey, { status: 200, heading: title });
    expect(await page.getByRole('status').textContent()).toBe(t('adminUsers.done.bypass'));

    await follow(
      journey,
      t('adminUsers.show.resetPin'),
      `/admin/users/${userId}/pin`,
      t('adminUsers.pin.title'),
    );
    const generate = page.getByLabel(t('adminUsers.pin.generate'), { exact: true });
    await tabTo(page, generate);
    await page.keyboard.press('Space');
    await pressEnter(page, page.getByRole('button', { name: t('adminUsers.pin.submit') }));
    await expectPage(journey, {
      status: 200,
      heading: t('adminUsers.pin.generatedTitle', { username: `helpee-${lng}` }),
    });
    expect(await page.locator('code.secret').textContent()).toMatch(/^\d{4}$/);
  });

  /** Presses the page's button of that name, by keyboard. */
  async function press(journey: Journey, name: string) {
    const button = journey.page.getByRole('button', { name, exact: true });
    await tabTo(journey.page, button);
    await pressEnter(journey.page, button);
  }

  /** An administrator with every permission, signed in (on My account). */
  async function signedInAdmin(lng: Language, prefix: string) {
    const { administration } = portal.services.mfa;
    const adminName = `${prefix}-admin-${lng}`;
    const { secret, user } = await enrolWithApp(portal.services, adminName, password, {
      language: lng,
    });
    for (const permission of adminPermissions) {
      await administration.grant(cliContext, { userId: user.id, permission, group: null });
    }
    const journey = await openSignInPage(portal, lng);
    await signInWithApp(journey, adminName, password, secret);
    return journey;
  }

  /** An administrator with every permission, signed in on the user's page. */
  async function onUserPage(lng: Language, prefix: string, userId: string, username: string) {
    const journey = await signedInAdmin(lng, prefix);
    await journey.page.goto(`/admin/users/${userId}`);
    await expectPage(journey, {
      status: 200,
      heading: journey.t('adminUsers.show.title', { username }),
    });
    return journey;
  }

  it.each(languages)('in %s, deactivates a device and removes a token', async (lng) => {
    const username = `devices-${lng}`;
    const { user } = await enrolWithApp(portal.services, username, password);
    await addDevice(portal.services, user.id, { kind: 'token', name: `TOK-${lng}` });
    const journey = await onUserPage(lng, 'devices', user.id, username);
    const { t } = journey;
    const title = t('adminUsers.show.title', { username });
    const [app, token] = (
      await portal.services.mfa.administration.userDetails(cliContext, {
        userId: user.id,
      })
    ).account.devices;
    for (const [device, link, heading, button, done] of [
      [
        app,
        t('adminUsers.devices.deactivateApp', { name: app?.name }),
        'removeAppTitle',
        'removeApp',
        'app-removed',
      ],
      [
        token,
        t('adminUsers.devices.deactivateToken', { serial: `TOK-${lng}` }),
        'removeTokenTitle',
        'removeToken',
        'token-removed',
      ],
    ] as const) {
      await follow(
        journey,
        link,
        `/admin/users/${user.id}/devices/${device?.id ?? ''}/remove`,
        t(`adminUsers.devices.${heading}`),
      );
      await press(journey, t(`adminUsers.devices.${button}`));
      expect(pathOf(journey.page)).toBe(`/admin/users/${user.id}?done=${done}`);
      await expectPage(journey, { status: 200, heading: title });
      expect(await journey.page.getByRole('status').textContent()).toBe(
        t(`adminUsers.done.${done}`),
      );
    }
  });

  it.each(languages)(
    'in %s, adds a user, corrects the form, edits their details and deletes them',
    async (lng) => {
      const journey = await signedInAdmin(lng, 'add');
      const { page, t } = journey;
      await page.goto('/admin/users');
      await expectPage(journey, { status: 200, heading: t('adminUsers.search.title') });
      await follow(
        journey,
        t('adminUsers.form.addTitle'),
        '/admin/users/new',
        t('adminUsers.form.addTitle'),
      );
      await page.getByLabel(t('adminUsers.search.name'), { exact: true }).fill('Added User');
      await page
        .getByLabel(t('adminUsers.form.mobilePhone'), { exact: true })
        .fill('+31 6 1234 5678');
      await press(journey, t('adminUsers.form.add'));
      await expectPage(journey, { status: 400, heading: t('adminUsers.form.addTitle') });
      await expectErrorSummary(journey, [t('adminUsers.form.errors.usernameMissing')]);
      const username = `added-${lng}`;
      await page.getByLabel(t('adminUsers.search.username'), { exact: true }).fill(username);
      await page.getByLabel(t('adminUsers.search.group'), { exact: true }).fill('sales');
      await press(journey, t('adminUsers.form.add'));
      const added = await portal.services.mfa.administration.findUser(cliContext, { username });
      expect(added).toMatchObject({
        displayName: 'Added User',
        group: 'sales',
        mobilePhone: '+31612345678',
      });
      const path = `/admin/users/${added?.id ?? ''}`;
      const title = t('adminUsers.show.title', { username });
      expect(pathOf(page)).toBe(`${path}?done=created`);
      await expectPage(journey, { status: 200, heading: title });

      await follow(
        journey,
        t('adminUsers.show.edit'),
        `${path}/edit`,
        t('adminUsers.form.editTitle', { username }),
      );
      await page.getByLabel(t('adminUsers.search.name'), { exact: true }).fill('Edited User');
      await page.getByLabel(t('adminUsers.form.tags'), { exact: true }).fill('site-a, helpdesk');
      await page.getByLabel(t('account.summary.language'), { exact: true }).selectOption(lng);
      await press(journey, t('adminUsers.form.save'));
      expect(pathOf(page)).toBe(`${path}?done=saved`);
      await expectPage(journey, { status: 200, heading: title });
      expect(await page.getByRole('status').textContent()).toBe(t('adminUsers.done.saved'));
      expect(await summaryValue(page, t('adminUsers.search.name'))).toBe('Edited User');
      expect(await summaryValue(page, t('adminUsers.form.tags'))).toBe('site-a, helpdesk');

      await follow(
        journey,
        t('adminUsers.show.delete'),
        `${path}/delete`,
        t('adminUsers.delete.title', { username }),
      );
      await press(journey, t('adminUsers.delete.submit'));
      expect(pathOf(page)).toBe('/admin/users?done=deleted');
      await expectPage(journey, { status: 200, heading: t('adminUsers.search.title') });
      expect(await page.getByRole('status').textContent()).toBe(t('adminUsers.done.deleted'));
      expect(await portal.services.mfa.administration.findUser(cliContext, { username })).toBe(
        null,
      );
    },
  );

  it.each(languages)(
    'in %s, a user whose PIN the helpdesk reset chooses a new one at sign-in',
    async (lng) => {
      const { administration } = portal.services.mfa;
      const username = `pinreset-${lng}`;
      const { user, secret } = await enrolWithApp(portal.services, username, password, {
        language: lng,
      });
      const reset = await administration.resetPin(cliContext, {
        userId: user.id,
        changeRequired: true,
        generate: false,
        pin: '4820',
        pinConfirmation: '4820',
      });
      expect(reset.outcome).toBe('reset');
      await administration.changeSetting(cliContext, { key: 'appMode', value: 'pin' });
      try {
        const journey = await openSignInPage(portal, lng);
        const { page, t } = journey;
        await submitSignIn(journey, username, password);
        await expectPage(journey, { status: 200, heading: t('verify.app.title') });
        await page.getByLabel(t('codes.appLabel'), { exact: true }).fill(appCode(secret));
        const pin = page.getByLabel(t('pin.label'), { exact: true });
        await pin.fill('4820');
        await pressEnter(page, pin);
        expect(pathOf(page)).toBe('/verify/new-pin');
        await expectPage(journey, { status: 200, heading: t('verify.newPin.title') });
        const chosen = page.getByLabel(t('preferences.pin.new'), { exact: true });
        await chosen.fill('1111');
        await page.getByLabel(t('preferences.pin.confirm'), { exact: true }).fill('1111');
        await press(journey, t('verify.newPin.submit'));
        await expectPage(journey, { status: 400, heading: t('verify.newPin.title') });
        await chosen.fill('5902');
        await page.getByLabel(t('preferences.pin.confirm'), { exact: true }).fill('5902');
        await press(journey, t('verify.newPin.submit'));
        expect(pathOf(page)).toBe('/account');
        await expectPage(journey, { status: 200, heading: t('account.title') });
        expect((await portal.services.users.findById(user.id))?.pin_change_required).toBe(0);
      } finally {
        await administration.changeSetting(cliContext, { key: 'appMode', value: 'standard' });
      }
    },
  );

  it.each(languages)('in %s, gives a permission and takes it back', async (lng) => {
    const username = `granted-${lng}`;
    const { user } = await enrolWithApp(portal.services, username, password);
    const journey = await onUserPage(lng, 'grant', user.id, username);
    const { page, t } = journey;
    const grantTitle = t('adminAdministrators.grantTo', { username });
    await follow(journey, grantTitle, `/admin/users/${user.id}/grant`, grantTitle);
    await page
      .getByLabel(t('adminAdministrators.permission'), { exact: true })
      .selectOption('unlock');
    await page.getByLabel(t('adminUsers.search.group'), { exact: true }).fill('sales');
    await press(journey, t('adminAdministrators.grant'));
    expect(pathOf(page)).toBe(`/admin/users/${user.id}?done=granted`);
    await expectPage(journey, { status: 200, heading: t('adminUsers.show.title', { username }) });
    await press(
      journey,
      t('adminAdministrators.revoke', {
        username,
        permission: t('adminUsers.show.forGroup', {
          permission: t('adminUsers.permissions.unlock'),
          group: 'sales',
        }),
      }),
    );
    expect(pathOf(page)).toBe('/admin/administrators?done=revoked');
    await expectPage(journey, { status: 200, heading: t('adminAdministrators.title') });
    expect(await page.getByRole('status').textContent()).toBe(t('adminAdministrators.revoked'));
    expect(await page.getByRole('link', { name: username, exact: true }).count()).toBe(0);
  });

  it.each(languages)(
    'in %s, imports users from a file: the form corrected, the preview checked, then saved',
    async (lng) => {
      const journey = await signedInAdmin(lng, 'import');
      const { page, t } = journey;
      await page.goto('/admin');
      await follow(journey, t('adminImport.title'), '/admin/import', t('adminImport.title'));
      await press(journey, t('adminImport.preview'));
      await expectPage(journey, { status: 400, heading: t('adminImport.title') });
      await expectErrorSummary(journey, [t('adminImport.errors.file')]);
      const file = `username,display name,group\r\nimported-${lng},Imported User,sales\r\n,No Name,sales\r\n`;
      await page.getByLabel(t('adminImport.file'), { exact: true }).setInputFiles({
        name: 'users.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from(file),
      });
      await press(journey, t('adminImport.preview'));
      await expectPage(journey, { status: 200, heading: t('adminImport.previewTitle') });
      expect(await page.getByRole('status').textContent()).toBe(
        t('adminImport.totals', { added: 1, updated: 0, unchanged: 0, refused: 1 }),
      );
      expect(
        await portal.services.mfa.administration.findUser(cliContext, {
          username: `imported-${lng}`,
        }),
      ).toBe(null);
      await press(journey, t('adminImport.confirm', { count: 1 }));
      expect(pathOf(page)).toBe('/admin/import?add=1&update=0&unchanged=0&refuse=1');
      await expectPage(journey, { status: 200, heading: t('adminImport.title') });
      expect(await page.getByRole('status').textContent()).toBe(
        t('adminImport.saved', { added: 1, updated: 0, unchanged: 0, refused: 1 }),
      );
      expect(
        await portal.services.mfa.administration.findUser(cliContext, {
          username: `imported-${lng}`,
        }),
      ).toMatchObject({ displayName: 'Imported User', group: 'sales' });
    },
  );
});
