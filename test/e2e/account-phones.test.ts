import type { Locator } from 'playwright-core';
import { actionLinkPattern, spokenNumber } from '../helpers/link-names.ts';
import { smsText } from '../../src/core/phone-verification.ts';
import { describe, expect, it } from 'vitest';
import { languages, type Language } from '../../src/i18n.ts';
import { accountOf, createAppUser, devicesOf, editUser } from '../helpers/account.ts';
import { browserMissing } from '../helpers/browser.ts';
import { userContext } from '../helpers/context.ts';
import {
  expectDone,
  expectFieldError,
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
 * SPEC J3, M1 and M2 in Chromium with JavaScript disabled, by keyboard: a signed-in user changes
 * their phone numbers and mobile number from My account, each new number proven by a call or a
 * text that a second tab, the development simulator's phone, answers; and stops using texts.
 * Every page either tab reaches is checked for its language, for the absence of script and with
 * axe, in English, Dutch and French.
 */

const password = 'correct horse battery staple';
const noBrowser = await browserMissing();

interface TypedPhone {
  country: string;
  number: string;
  extension?: string;
}

describe.skipIf(noBrowser)(
  'Changing phone numbers from My account, no JavaScript',
  { timeout: 120_000 },
  () => {
    // The simulator is one phone for every user: a server of its own gives each test its own.
    const portal = useBrowserPortal(
      { SIMULATOR_ENABLED: 'true', RATE_LIMIT_SIGNIN_MAX: '1000' },
      { serverPerTest: true },
    );

    /** A user with the mobile app set up, signed in with a code from it: a fresh proof. */
    async function signedInAppUser(username: string, lng: Language): Promise<Journey> {
      const secret = await createAppUser(portal.services, username, password);
      const tab = await openSignInPage(portal, lng);
      await signInWithApp(tab, username, password, secret);
      return tab;
    }

    /** From My account, by keyboard, the change link of one method's row. */
    async function followSummaryLink(tab: Journey, action: 'add' | 'change', method: string) {
      const { page, t } = tab;
      const link = page.getByRole('link', {
        name: actionLinkPattern(
          t,
          'account.summary.linkName',
          t(`account.summary.${action}`),
          t(`methods.${method}.name`),
          tab.lng,
        ),
      });
      await tabTo(page, link);
      await pressEnter(page, link);
    }

    async function fillNumber({ page, t }: Journey, legend: string, typed: TypedPhone) {
      const fieldset = page.getByRole('group', { name: legend, exact: true });
      await fieldset.getByLabel(t('phone.country'), { exact: true }).selectOption(typed.country);
      await fieldset.getByLabel(t('phone.number'), { exact: true }).fill(typed.number);
      if (typed.extension !== undefined) {
        await fieldset.getByLabel(t('phone.extension'), { exact: true }).fill(typed.extension);
      }
    }

    async function submitPhones(tab: Journey, primary: TypedPhone, backup?: TypedPhone) {
      const { page, t } = tab;
      await fillNumber(tab, t('phoneChange.phone.primary'), primary);
      if (backup) await fillNumber(tab, t('phoneChange.phone.backup'), backup);
      await pressEnter(
        page,
        page.getByRole('button', { name: t('phoneChange.phone.submit'), exact: true }),
      );
    }

    async function submitMobile(tab: Journey, typed: TypedPhone) {
      const { page, t } = tab;
      await fillNumber(tab, t('phoneChange.mobile.number'), typed);
      await pressEnter(
        page,
        page.getByRole('button', { name: t('phoneChange.mobile.submit'), exact: true }),
      );
    }

    async function submitCode({ page, t }: Journey, code: string) {
      const field = page.getByLabel(t('codes.smsLabel'), { exact: true });
      await field.fill(code);
      await pressEnter(page, field);
    }

    /** The phone's tab: the simulator page afresh, the newest call or text on it. */
    async function newestOnPhone(phone: Journey, heading: string, state: string) {
      await phone.page.goto(`/simulator?lng=${phone.lng}`);
      await expectPage(phone, { status: 200, heading: phone.t('simulator.title') });
      const newest: Locator = phone.page.getByRole('article').first();
      expect(await newest.getByRole('heading', { level: 2 }).textContent()).toBe(heading);
      expect(
        await newest.getByText(phone.t(`simulator.states.${state}`), { exact: true }).count(),
      ).toBe(1);
      return newest;
    }

    /** The waiting page of a call; the phone answers with "#"; "Check now" goes on. */
    async function proveByCall(user: Journey, phone: Journey, masked: string, heading: string) {
      const { page, t } = user;
      expect(pathOf(page)).toBe('/account/phone/wait');
      await expectPage(user, { status: 200, heading: t('wait.phone.title') });
      expect(await page.getByRole('status').textContent()).toBe(
        t('wait.phone.body', { phone: spokenNumber(t, masked) }),
      );
      const call = await newestOnPhone(phone, heading, 'ringing');
      expect(await call.locator('.simulated-body').textContent()).toBe(
        user.t('telephony.callPrompt', { fraudCode: '0' }),
      );
      await pressEnter(
        phone.page,
        call.getByRole('button', { name: phone.t('simulator.answer'), exact: true }),
      );
      await expectPage(phone, { status: 200, heading: phone.t('simulator.title') });
      await pressEnter(page, page.getByRole('button', { name: t('wait.checkNow'), exact: true }));
    }

    it('in Dutch, a user adds a phone and a backup phone, each answering a call first', async () => {
      const user = await signedInAppUser('calls-nl', 'nl');
      const phone = await portal.openTab('nl');
      const { page, t } = user;

      await followSummaryLink(user, 'add', 'phone');
      expect(pathOf(page)).toBe('/account/phone');
      await expectPage(user, { status: 200, heading: t('phoneChange.phone.titleAdd') });

      await submitPhones(user, { country: 'NL', number: '12', extension: '' });
      await expectPage(user, { status: 400, heading: t('phoneChange.phone.titleAdd') });
      await expectFieldError(user, 'phoneNumber', t('phone.errors.invalid'));

      await submitPhones(
        user,
        { country: 'NL', number: '020 123 4567', extension: '12,3' },
        { country: 'BE', number: '02 223 45 67', extension: '' },
      );
      await proveByCall(
        user,
        phone,
        '+31 ••• 67',
        `${t('simulator.callTo', { phone: '+31201234567' })} ${t('simulator.extension', {
          extension: '12,3',
        })}`,
      );
      // The primary answered; the backup is called next, and nothing is saved before it answers.
      expect((await accountOf(portal.services, 'calls-nl')).phone).toBeNull();
      await proveByCall(user, phone, '+32 ••• 67', t('simulator.callTo', { phone: '+3222234567' }));
      await expectDone(user, 'phone');
      expect(await accountOf(portal.services, 'calls-nl')).toMatchObject({
        phone: '+31201234567',
        phoneExtension: '12,3',
        backupPhone: '+3222234567',
      });
    });

    it('in French, a user adds a mobile number with the texted code, then stops using texts', async () => {
      const user = await signedInAppUser('texts-fr', 'fr');
      const phone = await portal.openTab('fr');
      const { page, t } = user;

      await followSummaryLink(user, 'add', 'sms');
      expect(pathOf(page)).toBe('/account/mobile');
      await expectPage(user, { status: 200, heading: t('phoneChange.mobile.titleAdd') });
      await submitMobile(user, { country: 'FR', number: '06 12 34 56 78' });
      expect(pathOf(page)).toBe('/account/mobile/code');
      await expectPage(user, { status: 200, heading: t('codes.smsTitle') });
      expect(
        await page
          .getByText(t('codes.smsSent', { phone: spokenNumber(t, '+33 ••• 78'), count: 5 }), {
            exact: true,
          })
          .count(),
      ).toBe(1);

      const text = await newestOnPhone(
        phone,
        t('simulator.textTo', { phone: '+33612345678' }),
        'delivered',
      );
      const body = (await text.locator('.simulated-body').textContent()) ?? '';
      const code = /\b(\d{6})\b/.exec(body)?.[1] ?? '';
      expect(body).toBe(smsText(t('telephony.textCode', { code, count: 5 })));

      await submitCode(user, code.slice(1));
      await expectPage(user, { status: 400, heading: t('codes.smsTitle') });
      await expectFieldError(user, 'code', t('codes.errors.format', { digits: '6' }));
      await submitCode(user, code);
      await expectDone(user, 'mobile');
      expect((await accountOf(portal.services, 'texts-fr')).mobilePhone).toBe('+33612345678');

      await followSummaryLink(user, 'change', 'sms');
      await expectPage(user, { status: 200, heading: t('phoneChange.mobile.titleChange') });
      const stop = page.getByRole('button', {
        name: t('phoneChange.mobile.remove.submit'),
        exact: true,
      });
      await tabTo(page, stop);
      await pressEnter(page, stop);
      await expectDone(user, 'mobile');
      expect((await accountOf(portal.services, 'texts-fr')).mobilePhone).toBeNull();
    });

    describe.each(languages)('in %s', (lng) => {
      it('the phone and mobile pages, their errors, the waiting and code pages pass the checks', async () => {
        const user = await signedInAppUser(`pages-${lng}`, lng);
        const { page, t } = user;
        const { id: userId } = await accountOf(portal.services, `pages-${lng}`);
        await editUser(portal.services, userId, { phone: '+31201234567' });

        await page.goto('/account/phone');
        await expectPage(user, { status: 200, heading: t('phoneChange.phone.titleChange') });
        expect(
          await page
            .getByRole('group', { name: t('phoneChange.phone.primary'), exact: true })
            .getByLabel(t('phone.number'), { exact: true })
            .inputValue(),
        ).toBe('020 123 4567');
        expect(
          await page
            .getByRole('button', { name: t('phoneChange.phone.remove.submit'), exact: true })
            .count(),
        ).toBe(1);
        await submitPhones(user, { country: 'BE', number: '', extension: '' });
        await expectPage(user, { status: 400, heading: t('phoneChange.phone.titleChange') });
        await expectFieldError(user, 'phoneNumber', t('phone.errors.missing'));
        await submitPhones(user, { country: 'BE', number: '02 223 45 67', extension: '' });
        expect(pathOf(page)).toBe('/account/phone/wait');
        await expectPage(user, { status: 200, heading: t('wait.phone.title') });
        await pressEnter(page, page.getByRole('link', { name: t('wait.startAgain'), exact: true }));
        expect(pathOf(page)).toBe('/account/phone');
        await expectPage(user, { status: 200, heading: t('phoneChange.phone.titleChange') });

        await pressEnter(
          page,
          page.getByRole('link', { name: t('phoneChange.back'), exact: true }),
        );
        await followSummaryLink(user, 'add', 'sms');
        await expectPage(user, { status: 200, heading: t('phoneChange.mobile.titleAdd') });
        await submitMobile(user, { country: 'BE', number: '12' });
        await expectPage(user, { status: 400, heading: t('phoneChange.mobile.titleAdd') });
        await expectFieldError(user, 'mobileNumber', t('phone.errors.invalid'));
        await submitMobile(user, { country: 'BE', number: '0470 12 34 56' });
        expect(pathOf(page)).toBe('/account/mobile/code');
        await expectPage(user, { status: 200, heading: t('codes.smsTitle') });
        await submitCode(user, '');
        await expectPage(user, { status: 400, heading: t('codes.smsTitle') });
        await expectFieldError(user, 'code', t('codes.errors.missing'));
        expect((await accountOf(portal.services, `pages-${lng}`)).mobilePhone).toBe(null);

        // The last method left: the page explains why it cannot be stopped.
        for (const device of await devicesOf(portal.services, userId)) {
          await portal.services.mfa.account.removeDevice(userContext(userId), {
            userId,
            deviceId: device.id,
          });
        }
        await page.goto('/account/phone');
        await expectPage(user, { status: 200, heading: t('phoneChange.phone.titleChange') });
        expect(
          await page.getByText(t('phoneChange.phone.remove.lastMethod'), { exact: true }).count(),
        ).toBe(1);
      });
    });
  },
);
