import { describe, expect, it } from 'vitest';
import { languages, type Language } from '../../src/i18n.ts';
import { changeSettings } from '../helpers/app.ts';
import {
  accountOf,
  addDevice,
  devicesOf as devicesOfUser,
  createAppUser,
} from '../helpers/account.ts';
import { browserMissing } from '../helpers/browser.ts';
import { cliContext, userContext } from '../helpers/context.ts';
import {
  expectPage,
  pathOf,
  pressEnter,
  signInWithApp,
  tabTo,
  useBrowserPortal,
  type Journey,
} from '../helpers/journey.ts';

/*
 * SPEC J3, L1, S2 in Chromium with JavaScript disabled: the refusals a user only meets when the
 * account changes while a page is open (another tab, the helpdesk, an administrator), so that
 * they come back from a POST and no GET shows them. Each says why in the user's language, changes
 * nothing, and passes axe, in English, Dutch and French.
 */

const password = 'correct horse battery staple';
const noBrowser = await browserMissing();

describe.skipIf(noBrowser)(
  'Refusals after a change elsewhere, on My account, no JavaScript',
  { timeout: 120_000 },
  () => {
    const portal = useBrowserPortal({ RATE_LIMIT_SIGNIN_MAX: '1000' });

    /** Signs in with password and app code: the session then holds a fresh proof. */
    async function signedIn(lng: Language, username: string) {
      const secret = await createAppUser(portal.services, username, password);
      const user = await accountOf(portal.services, username);
      const journey = await portal.openTab(lng);
      await journey.page.goto(`/sign-in?lng=${lng}`);
      await signInWithApp(journey, username, password, secret);
      return { journey, userId: user.id };
    }

    const devicesOf = (userId: string) => devicesOfUser(portal.services, userId);

    /** A second device or a token, as another tab would have added it. */
    async function addElsewhere(userId: string, kind: 'app' | 'token', name: string) {
      await addDevice(portal.services, userId, { kind, name });
    }

    /** Submits the page's only form with its button, by keyboard. */
    async function submitWith({ page }: Journey, name: string) {
      const button = page.getByRole('button', { name, exact: true });
      await tabTo(page, button);
      await pressEnter(page, button);
    }

    /** The refusal is an error summary that explains, under an "Error:" title. */
    async function expectRefusal(journey: Journey, message: string) {
      const { page, t } = journey;
      expect(await page.title()).toMatch(new RegExp(`^${t('common.errorPrefix')} `));
      const summary = page.locator('.error-summary[role="alert"]');
      expect(await summary.getByRole('heading').textContent()).toBe(t('common.errorSummaryTitle'));
      expect(await summary.locator('p').textContent()).toBe(message);
    }

    for (const lng of languages) {
      it(`in ${lng}, each change that another tab or the helpdesk made impossible is refused`, async () => {
        const { journey, userId } = await signedIn(lng, `refused-${lng}`);
        const { page, t } = journey;

        // The device limit (2) is reached in another tab while the form is open.
        await page.goto('/account/devices');
        await expectPage(journey, { status: 200, heading: t('devicesPage.title') });
        await addElsewhere(userId, 'app', 'Tablet');
        await submitWith(journey, t('setup.app.generate'));
        expect(pathOf(page)).toBe('/account/devices/new');
        await expectPage(journey, { status: 400, heading: t('devicesPage.title') });
        await expectRefusal(journey, t('devicesPage.limitReached', { limit: 2 }));
        expect(await devicesOf(userId)).toHaveLength(2);

        // A token is associated elsewhere while the token form is open: only one is allowed.
        await page.goto('/account/token');
        await expectPage(journey, { status: 200, heading: t('tokenPage.title') });
        await addElsewhere(userId, 'token', 'TOKEN-ELSEWHERE');
        await submitWith(journey, t('tokenPage.submit'));
        expect(pathOf(page)).toBe('/account/token');
        await expectPage(journey, { status: 400, heading: t('tokenPage.title') });
        await expectRefusal(journey, t('tokenPage.onlyOne'));
        expect((await devicesOf(userId)).filter((d) => d.kind === 'token')).toHaveLength(1);

        // Another tab removes the other ways to sign in while a removal waits to be confirmed.
        const tablet = (await devicesOf(userId)).find((d) => d.name === 'Tablet');
        await page.goto(`/account/devices/${tablet?.id ?? ''}/remove`);
        await expectPage(journey, { status: 200, heading: t('devicesPage.removeTitle') });
        for (const other of (await devicesOf(userId)).filter((d) => d.id !== tablet?.id)) {
          await portal.services.mfa.account.removeDevice(userContext(userId), {
            userId,
            deviceId: other.id,
          });
        }
        await submitWith(journey, t('devicesPage.removeSubmit'));
        await expectPage(journey, { status: 400, heading: t('devicesPage.removeTitle') });
        await expectRefusal(journey, t('devicesPage.lastMethod'));
        expect((await devicesOf(userId)).map((d) => d.name)).toEqual(['Tablet']);

        // An administrator switches the change off while the page is open.
        await page.goto('/account/language');
        await expectPage(journey, { status: 200, heading: t('preferences.language.title') });
        await changeSettings(portal.services, { allowSelectLanguage: false });
        try {
          await submitWith(journey, t('preferences.save'));
          await expectPage(journey, { status: 403, heading: t('errors.changeNotAllowed.title') });
          expect(await page.locator('main').textContent()).toContain(
            t('errors.changeNotAllowed.body'),
          );
        } finally {
          await changeSettings(portal.services, { allowSelectLanguage: true });
        }
        // Nothing saved: the language the first sign-in kept, and no change recorded.
        expect((await accountOf(portal.services, `refused-${lng}`)).language).toBe(lng);
        const changes = await portal.services.mfa.administration.auditEvents(cliContext, {
          userId,
          type: 'change.language',
        });
        expect(changes).toEqual([]);
      });
    }
  },
);
