import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { smsText } from '../../src/core/phone-verification.ts';
import { languages } from '../../src/i18n.ts';
import { createUser, changeSettings } from '../helpers/app.ts';
import { editUser } from '../helpers/account.ts';
import { browserMissing } from '../helpers/browser.ts';
import { startFakeTwilio } from '../helpers/fake-twilio.ts';
import {
  chooseRadio,
  expectPage,
  openSignInPage,
  pathOf,
  pressEnter,
  signOut,
  submitSignIn,
  useBrowserPortal,
} from '../helpers/journey.ts';

/*
 * SPEC J1, J4, M1 and N1 in Chromium with JavaScript disabled, by keyboard, over Twilio (a local
 * server speaking its API, calling the portal back signed): the user signs in by answering a
 * call in their language, and when Twilio is down gets the page that says so, with a way to
 * another method; a new user sets up a mobile number by typing the code Twilio texted, and signs
 * in with a new one. Every page is checked for its language, script and axe, in en, nl and fr.
 */

const password = 'correct horse battery staple';
const noBrowser = await browserMissing();
const twilio = await startFakeTwilio();
afterAll(async () => {
  await twilio.close();
});

describe.skipIf(noBrowser)('Calls over Twilio, no JavaScript', { timeout: 120_000 }, () => {
  const portal = useBrowserPortal(twilio.env());
  beforeEach(async () => {
    twilio.forwardTo(portal.server.baseUrl);
    twilio.setOutage(undefined);
    await changeSettings(portal.services, { useSecurityQuestions: false });
  });

  it.each(languages)(
    'in %s, answers the call to sign in, and says so when Twilio is down',
    async (lng) => {
      const username = `twilio-${lng}`;
      const created = await createUser(portal, username, password, 'user', username);
      await editUser(portal.services, created.id, {
        phone: '+31201234567',
        defaultMethod: 'phone',
      });
      const user = await openSignInPage(portal, lng);
      const { page, t } = user;
      await submitSignIn(user, username, password);
      expect(pathOf(page)).toBe('/verify');
      await expectPage(user, { status: 200, heading: t('verify.phone.title') });
      await pressEnter(page, page.getByRole('button', { name: t('verify.phone.start') }));
      expect(pathOf(page)).toBe('/verify/wait');
      await expectPage(user, { status: 200, heading: t('wait.phone.title') });

      const call = twilio.calls.at(-1);
      expect(call?.prompt).toBe(t('telephony.callPrompt', { fraudCode: '0' }));
      if (call) await twilio.answer(call, '#');
      await pressEnter(page, page.getByRole('button', { name: t('wait.checkNow'), exact: true }));
      expect(pathOf(page)).toBe('/account');
      await expectPage(user, { status: 200, heading: t('account.title') });

      await signOut(user);
      twilio.setOutage({ status: 503 });
      await submitSignIn(user, username, password);
      await pressEnter(page, page.getByRole('button', { name: t('verify.phone.start') }));
      await expectPage(user, { status: 503, heading: t('phoneUnavailable.title.phone') });
      await pressEnter(page, page.getByRole('link', { name: t('callsPaused.otherWay') }));
      expect(pathOf(page)).toBe('/verify');
      await expectPage(user, { status: 200, heading: t('verify.phone.title') });
    },
  );

  it.each(languages)(
    'in %s, sets up a mobile number with the code Twilio texted, and signs in with a new one',
    async (lng) => {
      const username = `texted-${lng}`;
      await createUser(portal, username, password, 'user', username);
      const user = await openSignInPage(portal, lng);
      const { page, t } = user;
      const textedCode = (count: number) => {
        expect(twilio.texts.filter((text) => text.to === '+31612345678')).toHaveLength(count);
        const code = /\b(\d{6})\b/.exec(twilio.texts.at(-1)?.body ?? '')?.[1] ?? '';
        expect(twilio.texts.at(-1)?.body).toBe(
          smsText(t('telephony.textCode', { code, count: 5 })),
        );
        return code;
      };
      const typeCode = async (code: string) => {
        const field = page.getByLabel(t('codes.smsLabel'), { exact: true });
        await field.fill(code);
        await pressEnter(page, field);
      };
      const before = twilio.texts.filter((text) => text.to === '+31612345678').length;

      await submitSignIn(user, username, password);
      expect(pathOf(page)).toBe('/setup');
      await expectPage(user, { status: 200, heading: t('setup.choose.title') });
      await chooseRadio(page, 'method', 'sms');
      await pressEnter(page, page.getByRole('button', { name: t('common.continue') }));
      await expectPage(user, { status: 200, heading: t('setup.sms.title') });
      const mobile = page.getByRole('group', { name: t('setup.sms.mobile'), exact: true });
      await mobile.getByLabel(t('phone.country'), { exact: true }).selectOption('NL');
      await mobile.getByLabel(t('phone.number'), { exact: true }).fill('06 1234 5678');
      await pressEnter(
        page,
        page.getByRole('button', { name: t('setup.sms.submit'), exact: true }),
      );
      expect(pathOf(page)).toBe('/setup/sms/code');
      await expectPage(user, { status: 200, heading: t('codes.smsTitle') });
      await typeCode(textedCode(before + 1));
      expect(pathOf(page)).toBe('/account?enrolled');
      await expectPage(user, { status: 200, heading: t('account.title') });

      await signOut(user);
      await submitSignIn(user, username, password);
      await expectPage(user, { status: 200, heading: t('verify.sms.title') });
      await pressEnter(page, page.getByRole('button', { name: t('verify.sms.start') }));
      expect(pathOf(page)).toBe('/verify/sms-code');
      await expectPage(user, { status: 200, heading: t('codes.smsTitle') });
      await typeCode(textedCode(before + 2));
      expect(pathOf(page)).toBe('/account');
      await expectPage(user, { status: 200, heading: t('account.title') });
    },
  );
});
