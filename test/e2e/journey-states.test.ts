import { beforeAll, describe, expect, it } from 'vitest';
import { languages } from '../../src/i18n.ts';
import { changeSettings, createUser } from '../helpers/app.ts';
import { createAppUser } from '../helpers/account.ts';
import { browserMissing } from '../helpers/browser.ts';
import {
  expectErrorSummary,
  expectPage,
  openSignInPage,
  pathOf,
  pressEnter,
  submitSignIn,
  useBrowserPortal,
} from '../helpers/journey.ts';

/*
 * SPEC S10 and §5 in a real browser with JavaScript disabled, by keyboard, in every language: a
 * half-done sign-in can be cancelled from the second step and from User Setup, and "allow users
 * to log in" switched off refuses a user after the password and ends a signed-in session.
 */

const password = 'correct horse battery staple';
const noBrowser = await browserMissing();

describe.skipIf(noBrowser)('Journey stages in the browser', { timeout: 60_000 }, () => {
  const portal = useBrowserPortal();

  beforeAll(async () => {
    for (const lng of languages) {
      await createAppUser(portal.services, `enrolled-${lng}`, password);
      await createUser(portal, `new-${lng}`, password);
      await createUser(portal, `trusted-${lng}`, password);
    }
  });

  describe.each(languages)('in %s', (lng) => {
    it('a user cancels the second step and User Setup from the header', async () => {
      for (const [username, stage, heading] of [
        [`enrolled-${lng}`, '/verify', 'verify.app.title'],
        [`new-${lng}`, '/setup', 'setup.choose.title'],
      ] as const) {
        const journey = await openSignInPage(portal, lng);
        const { page, t } = journey;
        await submitSignIn(journey, username, password);
        expect(pathOf(page)).toBe(stage);
        await expectPage(journey, { status: 200, heading: t(heading) });

        await pressEnter(page, page.getByRole('button', { name: t('common.cancelSignIn') }));
        expect(pathOf(page)).toBe('/sign-in?signedOut');
        await expectPage(journey, { status: 200, heading: t('signIn.title') });
        await page.goto(stage);
        expect(pathOf(page)).toBe('/sign-in');
        await expectPage(journey, { status: 200, heading: t('signIn.title') });
      }
    });

    it('with "allow users to log in" off, a user is refused after the password and a signed-in user is signed out', async () => {
      await changeSettings(portal.services, { trustedIps: ['127.0.0.1', '::1'] });
      const signedIn = await openSignInPage(portal, lng);
      await submitSignIn(signedIn, `trusted-${lng}`, password);
      expect(pathOf(signedIn.page)).toBe('/account');
      await expectPage(signedIn, { status: 200, heading: signedIn.t('account.title') });

      await changeSettings(portal.services, { allowUserLogin: false });
      try {
        const journey = await openSignInPage(portal, lng);
        const { page, t } = journey;
        await submitSignIn(journey, `enrolled-${lng}`, password);
        await expectPage(journey, { status: 403, heading: t('signIn.title') });
        const field = (await page.getByLabel(t('signIn.username')).getAttribute('id')) ?? '';
        await expectErrorSummary(journey, [t('signIn.errors.switchedOff')]);
        const link = page.locator('.error-summary[role="alert"]').getByRole('link');
        expect(await link.getAttribute('href')).toBe(`#${field}`);
        expect(await page.locator('[aria-invalid="true"]').count()).toBe(0);

        // Settings are read at most once a second.
        await new Promise((resolve) => setTimeout(resolve, 1100));
        await signedIn.page.goto('/account');
        await expectPage(signedIn, { status: 403, heading: signedIn.t('errors.signInOff.title') });
      } finally {
        await changeSettings(portal.services, { allowUserLogin: true, trustedIps: [] });
      }
    });
  });
});
