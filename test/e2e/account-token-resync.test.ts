import { describe, expect, it } from 'vitest';
import { languages, type Language } from '../../src/i18n.ts';
import { createHotpTokenUser } from '../helpers/account.ts';
import { browserMissing } from '../helpers/browser.ts';
import {
  expectDone,
  expectErrorSummary,
  expectPage,
  openSignInPage,
  pathOf,
  pressEnter,
  submitSignIn,
  tabTo,
  useBrowserPortal,
  type Journey,
} from '../helpers/journey.ts';
import { cliContext } from '../helpers/context.ts';

/*
 * SPEC M4, J3 in Chromium with JavaScript disabled, by keyboard: a user whose event-based token
 * fell out of step signs in with a helpdesk bypass, follows My account's link, types two codes
 * that do not follow each other (an error, checked with axe), then two that do, and is back on
 * My account with the confirmation; in English, Dutch and French.
 */

const password = 'correct horse battery staple';
const noBrowser = await browserMissing();

describe.skipIf(noBrowser)(
  'Bringing an HOTP token back in step, no JavaScript',
  { timeout: 120_000 },
  () => {
    const portal = useBrowserPortal({ RATE_LIMIT_SIGNIN_MAX: '1000' });

    /** A user with only an HOTP token and a bypass waiting; returns the token's codes. */
    async function tokenUserWithBypass(username: string, lng: Language) {
      const { services } = portal;
      const { user, code } = await createHotpTokenUser(services, username, password, {
        language: lng,
      });
      await services.mfa.administration.issueBypass(cliContext, {
        userId: user.id,
        seconds: 300,
        reason: 'token out of step',
      });
      return code;
    }

    async function typeCodes(journey: Journey, first: string, second: string) {
      const { page, t } = journey;
      await page.getByLabel(t('tokenPage.resync.first'), { exact: true }).fill(first);
      const next = page.getByLabel(t('tokenPage.resync.second'), { exact: true });
      await next.fill(second);
      await pressEnter(page, next);
    }

    for (const lng of languages) {
      it(`in ${lng}, a user signed in with a bypass brings their token back in step`, async () => {
        const code = await tokenUserWithBypass(`resync-${lng}`, lng);
        const journey = await openSignInPage(portal, lng);
        const { page, t } = journey;
        await submitSignIn(journey, `resync-${lng}`, password);
        expect(pathOf(page)).toBe('/account');
        await expectPage(journey, { status: 200, heading: t('account.title') });

        const link = page.getByRole('link', { name: t('tokenPage.resync.link'), exact: true });
        await tabTo(page, link);
        await pressEnter(page, link);
        expect(pathOf(page)).toBe('/account/token/resync');
        await expectPage(journey, { status: 200, heading: t('tokenPage.resync.title') });

        // Pressed 25 times away from the portal; the first try skips a code.
        await typeCodes(journey, code(25), code(27));
        await expectPage(journey, { status: 400, heading: t('tokenPage.resync.title') });
        await expectErrorSummary(journey, [t('tokenPage.resync.errors.wrong')]);

        await typeCodes(journey, code(28), code(29));
        await expectDone(journey, 'tokenResynced');
        // The counter the core keeps for the token: no page and no interface call shows it.
        const [token] = (
          await portal.services.devices.forUser(
            (await portal.services.users.findByUsername(`resync-${lng}`))?.id ?? '',
          )
        ).filter((d) => d.kind === 'token');
        expect(token?.counter).toBe(30);
      });
    }
  },
);
