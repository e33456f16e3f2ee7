import { describe, expect, it } from 'vitest';
import { languages } from '../../src/i18n.ts';
import { changeSettings, createUser } from '../helpers/app.ts';
import { browserMissing } from '../helpers/browser.ts';
import {
  expectPage,
  openSignInPage,
  pathOf,
  pressEnter,
  submitSignIn,
  tabTo,
  useBrowserPortal,
  type Journey,
} from '../helpers/journey.ts';

/*
 * SPEC S5, L1 in Chromium with JavaScript disabled: a user at User Setup who has asked for more
 * texts than the hour allows gets the page of paused calls and texts: in their language, one
 * heading, how many minutes to wait, and by keyboard a way on to another method; axe finds
 * nothing, in English, Dutch and French.
 */

const password = 'correct horse battery staple';
const noBrowser = await browserMissing();

describe.skipIf(noBrowser)('Paused calls and texts, no JavaScript', { timeout: 120_000 }, () => {
  const portal = useBrowserPortal({ SIMULATOR_ENABLED: 'true', RATE_LIMIT_SIGNIN_MAX: '1000' });

  /** Types a mobile number on the text-message set-up page and asks for the text, by keyboard. */
  async function askForText(journey: Journey, number: string): Promise<void> {
    const { page, t } = journey;
    await page.goto('/setup/sms');
    await expectPage(journey, { status: 200, heading: t('setup.sms.title') });
    const fieldset = page.getByRole('group', { name: t('setup.sms.mobile'), exact: true });
    await fieldset.getByLabel(t('phone.country'), { exact: true }).selectOption('FR');
    await fieldset.getByLabel(t('phone.number'), { exact: true }).fill(number);
    await pressEnter(page, page.getByRole('button', { name: t('setup.sms.submit'), exact: true }));
  }

  for (const lng of languages) {
    it(`in ${lng}, the second text of the hour is paused with a page that says for how long`, async () => {
      await changeSettings(portal.services, { callsAndTextsPerUserPerHour: 1 });
      const username = `paused-${lng}`;
      await createUser(portal, username, password, 'user', username);
      const user = await openSignInPage(portal, lng);
      await submitSignIn(user, username, password);
      const { page, t } = user;
      expect(pathOf(page)).toBe('/setup');
      await expectPage(user, { status: 200, heading: t('setup.choose.title') });

      await askForText(user, '06 12 34 56 78');
      expect(pathOf(page)).toBe('/setup/sms/code');
      // Checked before the tab moves on, while the browser still holds the page.
      await expectPage(user, { status: 200, heading: t('codes.smsTitle') });
      await askForText(user, '06 98 76 54 32');
      await expectPage(user, { status: 429, heading: t('callsPaused.title') });
      const main = page.locator('main');
      expect(await main.getByText(t('callsPaused.because.user'), { exact: true }).count()).toBe(1);
      expect(
        await main.getByText(t('callsPaused.retry', { count: 60 }), { exact: true }).count(),
      ).toBe(1);
      expect(await page.locator(`a[lang="${lng}"]`).getAttribute('aria-current')).toBe('true');

      const otherMethod = page.getByRole('link', { name: t('setup.otherMethod'), exact: true });
      await tabTo(page, otherMethod);
      await pressEnter(page, otherMethod);
      expect(pathOf(page)).toBe('/setup');
      await expectPage(user, { status: 200, heading: t('setup.choose.title') });
    });
  }
});
