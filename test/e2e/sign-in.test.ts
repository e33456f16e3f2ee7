import { beforeAll, describe, expect, it } from 'vitest';
import { languages } from '../../src/i18n.ts';
import { changeSettings, createUser } from '../helpers/app.ts';
import { browserMissing } from '../helpers/browser.ts';
import {
  expectErrorSummary,
  expectPage,
  pathOf,
  pressEnter,
  signOut,
  submitSignIn,
  useBrowserPortal,
} from '../helpers/journey.ts';

/*
 * SPEC L1, L2 and S3 for signing in and out: by keyboard in Chromium with JavaScript disabled,
 * in every language, each page free of axe violations and of any script.
 */

const password = 'correct horse battery staple';

const noBrowser = await browserMissing();

// A journey crosses several pages, each checked by axe.
describe.skipIf(noBrowser)('Sign-in with JavaScript disabled', { timeout: 60_000 }, () => {
  const portal = useBrowserPortal();

  beforeAll(async () => {
    // This journey is about the password step; the second step has journeys of its own.
    await changeSettings(portal.services, { trustedIps: ['127.0.0.1', '::1'] });
    for (const lng of languages) {
      for (const role of ['user', 'admin'] as const) {
        await createUser(portal, `${role}-${lng}`, password, role, `${role} ${lng}`);
      }
    }
  });

  describe.each(languages)('in %s', (lng) => {
    it('a user signs in by keyboard, reaches My account and signs out', async () => {
      const journey = await portal.openTab(lng);
      const { page, t } = journey;

      await page.goto(`/sign-in?lng=${lng}`);
      await expectPage(journey, { status: 200, heading: t('signIn.title') });

      await submitSignIn(journey, `user-${lng}`, password);
      expect(pathOf(page)).toBe('/account');
      await expectPage(journey, { status: 200, heading: t('account.title') });
      expect(await page.getByText(t('account.welcome', { name: `user ${lng}` })).count()).toBe(1);

      await signOut(journey);
      await expectPage(journey, { status: 200, heading: t('signIn.title') });
      expect(await page.getByRole('status').textContent()).toBe(t('signIn.signedOut'));

      await page.goto('/account');
      expect(pathOf(page)).toBe('/sign-in');
    });

    it('a wrong password shows an error summary that leads to the field', async () => {
      const journey = await portal.openTab(lng);
      const { page, t } = journey;

      await page.goto(`/sign-in?lng=${lng}`);
      await submitSignIn(journey, `user-${lng}`, 'not the password');
      await expectPage(journey, { status: 400, heading: t('signIn.title') });

      const usernameField = page.getByLabel(t('signIn.username'), { exact: true });
      const fieldId = (await usernameField.getAttribute('id')) ?? '';
      // The summary leads to the username, but neither field is marked as the wrong one.
      await expectErrorSummary(journey, [t('signIn.errors.invalidCredentials')]);
      const link = page.locator('.error-summary[role="alert"]').getByRole('link');
      expect(await link.getAttribute('href')).toBe(`#${fieldId}`);
      expect(await page.locator('[aria-invalid="true"]').count()).toBe(0);
      await link.press('Enter');
      expect(await page.locator(':focus').getAttribute('id')).toBe(fieldId);
    });

    it('an administrator reaches the admin console from the header', async () => {
      const journey = await portal.openTab(lng);
      const { page, t } = journey;

      await page.goto(`/sign-in?lng=${lng}`);
      await submitSignIn(journey, `admin-${lng}`, password);

      await pressEnter(page, page.getByRole('link', { name: t('admin.title') }));
      expect(pathOf(page)).toBe('/admin');
      await expectPage(journey, { status: 200, heading: t('admin.title') });
    });

    it('a user who is not an administrator is refused the admin console', async () => {
      const journey = await portal.openTab(lng);
      const { page, t } = journey;

      await page.goto(`/sign-in?lng=${lng}`);
      await submitSignIn(journey, `user-${lng}`, password);
      expect(pathOf(page)).toBe('/account');
      expect(await page.getByRole('link', { name: t('admin.title') }).count()).toBe(0);

      await page.goto('/admin');
      await expectPage(journey, { status: 403, heading: t('errors.notAllowed.title') });
    });

    it('an unknown address shows the not-found page', async () => {
      const journey = await portal.openTab(lng);
      const { page, t } = journey;

      await page.goto(`/no-such-page?lng=${lng}`);
      await expectPage(journey, { status: 404, heading: t('errors.notFound.title') });
    });
  });
});
