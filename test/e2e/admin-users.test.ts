import { describe, expect, it } from 'vitest';
import { adminPermissions } from '../../src/core/administrators.ts';
import { cliContext } from '../../src/core/context.ts';
import { languages } from '../../src/i18n.ts';
import { enrolWithApp } from '../helpers/account.ts';
import { browserMissing } from '../helpers/browser.ts';
import {
  expectErrorSummary,
  expectPage,
  openSignInPage,
  pathOf,
  pressEnter,
  signInWithApp,
  tabTo,
  useBrowserPortal,
  type Journey,
} from '../helpers/journey.ts';

/*
 * SPEC A2, L1, L2 in Chromium with JavaScript disabled, by keyboard, in each language: an
 * administrator finds a user with a wildcard, opens their page, corrects a wrong bypass form and
 * issues a bypass, then generates a PIN. Every page is checked with axe, for weight and for
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
});
