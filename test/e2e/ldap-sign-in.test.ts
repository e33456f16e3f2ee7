import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBase32 } from '../../src/core/otp.ts';
import { languages } from '../../src/i18n.ts';
import { changeSettings } from '../helpers/app.ts';
import { browserMissing } from '../helpers/browser.ts';
import {
  chooseRadio,
  expectErrorSummary,
  expectPage,
  pathOf,
  pressEnter,
  signOut,
  submitSignIn,
  useBrowserPortal,
} from '../helpers/journey.ts';
import { needs } from '../helpers/services.ts';
import { ldapPortalEnv, slapdMissing, startSlapd } from '../helpers/slapd.ts';
import { appCode } from '../helpers/two-step.ts';

/*
 * SPEC J1, J2, D1, L1, L2: an employee signs in with their directory password (a real slapd, over
 * StartTLS), sets up the mobile app and signs in with it, in Chromium with JavaScript disabled,
 * by keyboard, in each language, every page checked by axe.
 */
const noBrowser = await browserMissing();
const noSlapd = await needs('slapd', slapdMissing);
const slapd = noBrowser || noSlapd ? undefined : await startSlapd();

describe.skipIf(!slapd)('LDAP sign-in with JavaScript disabled', { timeout: 120_000 }, () => {
  const portal = useBrowserPortal({
    RATE_LIMIT_SIGNIN_MAX: '1000',
    ...(slapd ? ldapPortalEnv(slapd) : {}),
  });
  beforeAll(async () => {
    // The journey is about the directory and the app; questions have journeys of their own.
    await changeSettings(portal.services, { useSecurityQuestions: false });
  });
  afterAll(async () => {
    await slapd?.close();
  });

  describe.each(languages)('in %s', (lng) => {
    it('a directory user is refused a wrong password, signs in as DOMAIN\\user, sets up the app and signs in with it', async () => {
      const journey = await portal.openTab(lng);
      const { page, t } = journey;
      const username = `EXAMPLE\\browser-${lng}`;
      const password = `Browser pass ${lng}`;
      await page.goto(`/sign-in?lng=${lng}`);
      await expectPage(journey, { status: 200, heading: t('signIn.title') });

      await submitSignIn(journey, username, 'not my password');
      await expectPage(journey, { status: 400, heading: t('signIn.title') });
      await expectErrorSummary(journey, [t('signIn.errors.invalidCredentials')]);

      await submitSignIn(journey, username, password);
      expect(pathOf(page)).toBe('/setup');
      await expectPage(journey, { status: 200, heading: t('setup.choose.title') });
      await chooseRadio(page, 'method', 'app');
      await pressEnter(page, page.getByRole('button', { name: t('common.continue') }));
      await expectPage(journey, { status: 200, heading: t('setup.app.title') });
      await pressEnter(page, page.getByRole('button', { name: t('setup.app.generate') }));
      await expectPage(journey, { status: 200, heading: t('setup.app.title') });
      const secret = decodeBase32((await page.locator('code.secret').textContent()) ?? '');
      const setupField = page.getByLabel(t('codes.appLabel'), { exact: true });
      await setupField.fill(appCode(secret));
      await pressEnter(page, setupField);
      expect(pathOf(page)).toBe('/account?enrolled');
      await expectPage(journey, { status: 200, heading: t('account.title') });
      expect(
        await page
          .getByText(t('account.welcome', { name: `Browser ${lng.toUpperCase()}` }))
          .count(),
      ).toBe(1);

      await signOut(journey);
      await submitSignIn(journey, `browser-${lng}@example.org`, password);
      expect(pathOf(page)).toBe('/verify');
      await expectPage(journey, { status: 200, heading: t('verify.app.title') });
      const code = page.getByLabel(t('codes.appLabel'), { exact: true });
      await code.fill(appCode(secret, 1));
      await pressEnter(page, code);
      expect(pathOf(page)).toBe('/account');
      await expectPage(journey, { status: 200, heading: t('account.title') });
    });
  });
});

describe.skipIf(noBrowser)(
  'Windows sign-in page with JavaScript disabled',
  { timeout: 60_000 },
  () => {
    // Under iisnode as the portal sees it; the browser sends no AUTH_USER, as IIS with anonymous
    // access would not.
    const portal = useBrowserPortal({
      IISNODE_VERSION: '0.2.26',
      PRIMARY_AUTHENTICATION: 'windows',
      LDAP_DOMAINS: 'EXAMPLE',
    });

    describe.each(languages)('in %s', (lng) => {
      it('offers the Windows account first, and says clearly when Windows named nobody', async () => {
        const journey = await portal.openTab(lng);
        const { page, t } = journey;
        await page.goto(`/sign-in?lng=${lng}`);
        await expectPage(journey, { status: 200, heading: t('signIn.title') });
        const button = page.getByRole('button', { name: t('signIn.windows.submit') });
        await pressEnter(page, button);
        await expectPage(journey, { status: 403, heading: t('signIn.title') });
        await expectErrorSummary(journey, [t('signIn.errors.windowsRefused')]);
      });
    });
  },
);
