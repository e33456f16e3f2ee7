import { describe, expect, it } from 'vitest';
import { languages } from '../../src/i18n.ts';
import { encodeBase32, generateOtpSecret, totp } from '../../src/core/otp.ts';
import { changeSettings, createUser } from '../helpers/app.ts';
import { browserMissing } from '../helpers/browser.ts';
import { cliContext } from '../helpers/context.ts';
import {
  chooseRadio,
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

/*
 * SPEC M4, J2 in Chromium with JavaScript disabled, by keyboard: a token the helpdesk imported
 * is set up in User Setup by its serial number and a code; a wrong code first (an error summary,
 * axe-checked), then the right one; in English, Dutch and French.
 */

const password = 'correct horse battery staple';
const noBrowser = await browserMissing();

describe.skipIf(noBrowser)(
  'Setting up an imported token, no JavaScript',
  { timeout: 120_000 },
  () => {
    const portal = useBrowserPortal({ RATE_LIMIT_SIGNIN_MAX: '1000' });

    async function typeSerialAndCode({ page, t }: Journey, serial: string, code: string) {
      await page.getByLabel(t('setup.token.serial'), { exact: true }).fill(serial);
      const field = page.getByLabel(t('codes.tokenLabel'), { exact: true });
      await field.fill(code);
      await pressEnter(page, field);
    }

    for (const lng of languages) {
      it(`in ${lng}, a user sets up the token the helpdesk gave them`, async () => {
        const { services } = portal;
        const serial = `HW-${lng.toUpperCase()}-1`;
        const secret = generateOtpSecret();
        const text = `serial number,secret key,time interval\n${serial},${encodeBase32(secret)},30\n`;
        await services.mfa.administration.importTokens(cliContext, { text, apply: true });
        await changeSettings(services, { useSecurityQuestions: false });
        await createUser({ services }, `imported-${lng}`, password);

        const journey = await openSignInPage(portal, lng);
        const { page, t } = journey;
        await submitSignIn(journey, `imported-${lng}`, password);
        expect(pathOf(page)).toBe('/setup');
        await chooseRadio(page, 'method', 'token');
        await pressEnter(page, page.getByRole('button', { name: t('common.continue') }));
        expect(pathOf(page)).toBe('/setup/token');
        await expectPage(journey, { status: 200, heading: t('setup.token.title') });

        const link = page.getByRole('link', { name: t('tokenPage.imported.link'), exact: true });
        await tabTo(page, link);
        await pressEnter(page, link);
        expect(pathOf(page)).toBe('/setup/token/imported');
        await expectPage(journey, { status: 200, heading: t('tokenPage.imported.title') });

        const code = totp(secret, Date.now(), { algorithm: 'SHA1', digits: 6, period: 30 });
        await typeSerialAndCode(
          journey,
          serial.toLowerCase(),
          code === '000000' ? '111111' : '000000',
        );
        await expectPage(journey, { status: 400, heading: t('tokenPage.imported.title') });
        await expectErrorSummary(journey, [t('tokenPage.imported.errors.wrong')]);

        await typeSerialAndCode(journey, serial.toLowerCase(), code);
        expect(pathOf(page)).toBe('/account?enrolled');
        await expectPage(journey, { status: 200, heading: t('account.title') });
      });
    }
  },
);
