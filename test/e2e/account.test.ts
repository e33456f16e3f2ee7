import { beforeAll, describe, expect, it } from 'vitest';
import { languages, type Language } from '../../src/i18n.ts';
import { changeSettings } from '../helpers/app.ts';
import { createAppUser } from '../helpers/account.ts';
import { browserMissing } from '../helpers/browser.ts';
import {
  expectPage,
  pathOf,
  pressEnter,
  submitSignIn,
  tabTo,
  useBrowserPortal,
} from '../helpers/journey.ts';
import { appCode } from '../helpers/two-step.ts';

/*
 * SPEC J3 in Chromium with JavaScript disabled, by keyboard: My account's summary, and the proof
 * a user gives before changing a factor when their session holds no recent one (a trusted-IP
 * sign-in here), in English, Dutch and French, every page checked with axe.
 */

const password = 'correct horse battery staple';
const noBrowser = await browserMissing();

describe.skipIf(noBrowser)(
  'My account and proof before change, no JavaScript',
  { timeout: 120_000 },
  () => {
    const portal = useBrowserPortal({ RATE_LIMIT_SIGNIN_MAX: '1000' });

    beforeAll(async () => {
      // Signing in from here skips the second step, so the session has no recent proof.
      await changeSettings(portal.services, { trustedIps: ['127.0.0.1', '::1'] });
      await changeSettings(portal.services, { allowBypass: true });
    });

    it.each(languages)(
      'in %s, the summary links to changes, and a change asks for proof first',
      async (lng: Language) => {
        const username = `summary-${lng}`;
        const secret = await createAppUser(portal.services, username, password);
        const journey = await portal.openTab(lng);
        const { page, t } = journey;

        await page.goto(`/sign-in?lng=${lng}`);
        await submitSignIn(journey, username, password);
        expect(pathOf(page)).toBe('/account');
        await expectPage(journey, { status: 200, heading: t('account.title') });
        expect(await page.locator('.summary').first().textContent()).toContain(username);

        // The bypass link: a change that needs a recent proof, which this session does not have.
        const link = page.getByRole('link', { name: t('account.summary.bypassStart') });
        await tabTo(page, link);
        await pressEnter(page, link);
        expect(pathOf(page)).toBe('/account/confirm');
        await expectPage(journey, { status: 200, heading: t('verify.app.title') });
        expect(await page.locator('.notice').textContent()).toBe(t('confirm.intro', { count: 5 }));

        const code = page.getByLabel(t('codes.appLabel'), { exact: true });
        await code.fill('12345');
        await pressEnter(page, code);
        await expectPage(journey, { status: 400, heading: t('verify.app.title') });
        expect(await page.title()).toMatch(new RegExp(`^${t('common.errorPrefix')} `));

        await page.getByLabel(t('codes.appLabel'), { exact: true }).fill(appCode(secret));
        await pressEnter(page, page.getByRole('button', { name: t('verify.submit') }));
        expect(pathOf(page)).toBe('/account/bypass');
        await expectPage(journey, { status: 200, heading: t('bypassPage.title') });
      },
    );
  },
);
