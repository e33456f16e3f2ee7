import type { Locator } from 'playwright-core';
import { spokenNumber } from '../helpers/link-names.ts';
import { beforeEach, describe, expect, it } from 'vitest';
import { smsText } from '../../src/core/phone-verification.ts';
import { languages, type Language } from '../../src/i18n.ts';
import { changeSettings, createUser } from '../helpers/app.ts';
import { axeViolations, browserMissing, reflowFailures } from '../helpers/browser.ts';
import {
  summaryValue,
  chooseRadio,
  expectFieldError,
  expectPage,
  openSignInPage,
  pathOf,
  pressEnter,
  signOut,
  submitSignIn,
  useBrowserPortal,
  type Journey,
} from '../helpers/journey.ts';

/*
 * SPEC J1, J2, J4, M1 and M2 in Chromium with JavaScript disabled, by keyboard: a user sets up a
 * phone call or a text message and signs in with it, while a second browser, the phone, answers
 * the call or reads and replies to the text on the development simulator's page (SPEC N1). Every
 * page either of them reaches is checked for its language, for the absence of any script
 * (SPEC S3) and with axe (SPEC L1), error pages included.
 */

const password = 'correct horse battery staple';

/** A number as a person types it into a phone form. */
interface TypedPhone {
  country: string;
  number: string;
  extension?: string;
}

/** On the User Setup page, picks the method by keyboard and continues to its form. */
async function chooseMethod(tab: Journey, method: 'phone' | 'sms'): Promise<void> {
  const { page, t } = tab;
  expect(pathOf(page)).toBe('/setup');
  await expectPage(tab, { status: 200, heading: t('setup.choose.title') });
  await chooseRadio(page, 'method', method);
  await pressEnter(page, page.getByRole('button', { name: t('common.continue') }));
  expect(pathOf(page)).toBe(`/setup/${method}`);
}

/** Fills the number in the fieldset with that legend and presses the form's button. */
async function submitNumber(
  { page, t }: Journey,
  legend: string,
  button: string,
  typed: TypedPhone,
): Promise<void> {
  const fieldset = page.getByRole('group', { name: legend, exact: true });
  await fieldset.getByLabel(t('phone.country'), { exact: true }).selectOption(typed.country);
  await fieldset.getByLabel(t('phone.number'), { exact: true }).fill(typed.number);
  if (typed.extension !== undefined) {
    await fieldset.getByLabel(t('phone.extension'), { exact: true }).fill(typed.extension);
  }
  await pressEnter(page, page.getByRole('button', { name: button, exact: true }));
}

function submitPhoneForm(tab: Journey, typed: TypedPhone): Promise<void> {
  return submitNumber(tab, tab.t('setup.phone.primary'), tab.t('setup.phone.submit'), typed);
}

function submitTextForm(tab: Journey, typed: TypedPhone): Promise<void> {
  return submitNumber(tab, tab.t('setup.sms.mobile'), tab.t('setup.sms.submit'), typed);
}

async function submitCode({ page, t }: Journey, code: string): Promise<void> {
  const field = page.getByLabel(t('codes.smsLabel'), { exact: true });
  await field.fill(code);
  await pressEnter(page, field);
}

/** The simulator's page loaded afresh, in the phone's language, and the newest message on it. */
async function openSimulator(phone: Journey): Promise<Locator> {
  await phone.page.goto(`/simulator?lng=${phone.lng}`);
  return phone.page.getByRole('article').first();
}

async function expectMessage({ t }: Journey, message: Locator, heading: string, state: string) {
  expect(await message.getByRole('heading', { level: 2 }).textContent()).toBe(heading);
  expect(await message.getByText(t(`simulator.states.${state}`), { exact: true }).count()).toBe(1);
}

/**
 * The newest call or text on the simulator's page, checked like every page. The page lists the
 * newest first: it must be the one with that heading, in that state.
 */
async function newestOnPhone(phone: Journey, heading: string, state: string): Promise<Locator> {
  const newest = await openSimulator(phone);
  await expectPage(phone, { status: 200, heading: phone.t('simulator.title') });
  await expectMessage(phone, newest, heading, state);
  return newest;
}

/** The phone's page as it is now, checked like every page: the newest message is settled. */
async function expectSettled(phone: Journey, heading: string, state: 'answered' | 'replied') {
  await expectPage(phone, { status: 200, heading: phone.t('simulator.title') });
  const newest = phone.page.getByRole('article').first();
  await expectMessage(phone, newest, heading, state);
  expect(await newest.getByRole('button').count()).toBe(0);
}

/** What a call says or a text reads. */
async function bodyOf(message: Locator): Promise<string> {
  return (await message.locator('.simulated-body').textContent()) ?? '';
}

/** The six-digit code in a text message. */
function codeIn(text: string): string {
  const code = /\b(\d{6})\b/.exec(text)?.[1];
  expect(code, `a code in "${text}"`).toBeDefined();
  return code ?? '';
}

/** Answers the newest call, ringing, with the keys the page offers: "#". */
async function answerCall(phone: Journey, heading: string): Promise<void> {
  const { page, t } = phone;
  const call = await openSimulator(phone);
  await expectMessage(phone, call, heading, 'ringing');
  expect(await call.getByLabel(t('simulator.keys'), { exact: true }).inputValue()).toBe('#');
  await pressEnter(page, call.getByRole('button', { name: t('simulator.answer'), exact: true }));
  expect(pathOf(page)).toBe('/simulator');
}

/** Replies to the newest text, just delivered. */
async function replyToText(phone: Journey, heading: string, reply: string): Promise<void> {
  const { page, t } = phone;
  const text = await openSimulator(phone);
  await expectMessage(phone, text, heading, 'delivered');
  await text.getByLabel(t('simulator.reply'), { exact: true }).fill(reply);
  await pressEnter(page, text.getByRole('button', { name: t('simulator.send'), exact: true }));
  expect(pathOf(page)).toBe('/simulator');
}

/**
 * SPEC J4 with WCAG 2.2.1: the waiting page says what to do and offers "Check now"; it refreshes
 * itself only once the user asks it to (README, "Decisions").
 */
async function expectWaiting(user: Journey, method: 'phone' | 'sms', maskedPhone: string) {
  const { page, t } = user;
  await expectPage(user, { status: 200, heading: t(`wait.${method}.title`) });
  expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(0);
  expect(await page.getByRole('status').textContent()).toBe(
    t(`wait.${method}.body`, { phone: spokenNumber(t, maskedPhone) }),
  );
  expect(await page.getByText(t('wait.whenDone'), { exact: true }).count()).toBe(1);
}

/**
 * The opt-in: the link turns on a self-refresh every 20 seconds (a real reload, no script), which
 * "Check now" keeps and "Stop checking automatically" turns off again. axe's meta-refresh rule is the
 * one rule not applied to this page: the user chose the refresh, which is what 2.2.1 asks.
 */
async function exerciseSelfRefresh(user: Journey): Promise<void> {
  const { page, t } = user;
  const waitingPath = pathOf(page);
  await pressEnter(
    page,
    page.getByRole('link', { name: t('wait.startRefreshing', { seconds: 20 }), exact: true }),
  );
  expect(await page.locator('meta[http-equiv="refresh"]').getAttribute('content')).toBe('20');
  const violations = (await axeViolations(page)).filter((v) => !v.startsWith('meta-refresh'));
  expect.soft(violations, `axe on the self-refreshing ${waitingPath}`).toEqual([]);
  expect
    .soft(await reflowFailures(page), `reflow of the self-refreshing ${waitingPath}`)
    .toEqual([]);
  await page.waitForEvent('load', { timeout: 30_000 });
  expect(pathOf(page), 'after the page refreshed itself').toBe(`${waitingPath}?auto=on`);
  await pressEnter(page, page.getByRole('link', { name: t('wait.stopRefreshing'), exact: true }));
  expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(0);
}

/**
 * SPEC J4 on the user's tab while the phone settles the call or text: "Check now" looks again at
 * once, showing the same page as long as nothing happened, and leads on once it has.
 */
async function checkNowOnceSettled(user: Journey, settleOnPhone: () => Promise<void>) {
  const { page, t } = user;
  const waitingPath = pathOf(page);
  const heading = await page.getByRole('heading', { level: 1 }).textContent();
  const checkNow = page.getByRole('button', { name: t('wait.checkNow'), exact: true });

  await pressEnter(page, checkNow);
  expect(pathOf(page)).toBe(waitingPath);
  expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(heading);

  await settleOnPhone();
  await pressEnter(page, checkNow);
}

/** From the waiting page of a call: the phone rings, is answered with "#", the user checks. */
async function proveByCall(
  user: Journey,
  phone: Journey,
  call: { maskedPhone: string; heading: string },
): Promise<void> {
  await expectWaiting(user, 'phone', call.maskedPhone);
  const ringing = await newestOnPhone(phone, call.heading, 'ringing');
  expect(await bodyOf(ringing)).toBe(user.t('telephony.callPrompt', { fraudCode: '0' }));
  await checkNowOnceSettled(user, () => answerCall(phone, call.heading));
  await expectSettled(phone, call.heading, 'answered');
}

/** From the waiting page of a two-way text: the phone replies with the code, the user checks. */
async function proveByReply(
  user: Journey,
  phone: Journey,
  text: { maskedPhone: string; heading: string },
): Promise<void> {
  await expectWaiting(user, 'sms', text.maskedPhone);
  const delivered = await newestOnPhone(phone, text.heading, 'delivered');
  const body = await bodyOf(delivered);
  const code = codeIn(body);
  expect(body).toBe(smsText(user.t('telephony.textReply', { code })));
  await checkNowOnceSettled(user, () => replyToText(phone, text.heading, code));
  await expectSettled(phone, text.heading, 'replied');
}

const noBrowser = await browserMissing();

// A journey crosses many pages in two tabs, each page checked by axe, and waits on a phone.
describe.skipIf(noBrowser)(
  'Phone calls and text messages, no JavaScript',
  { timeout: 120_000 },
  () => {
    // The simulator is one phone that every user's calls and texts ring on; a server of its own
    // gives each journey a phone of its own.
    const portal = useBrowserPortal({ SIMULATOR_ENABLED: 'true' }, { serverPerTest: true });
    beforeEach(async () => {
      // These journeys are about the phone; security questions have journeys of their own.
      await changeSettings(portal.services, { useSecurityQuestions: false });
    });

    /** A fresh user with no method yet, signed in as far as User Setup, in their language. */
    async function startJourney(username: string, lng: Language): Promise<Journey> {
      await createUser(portal, username, password, 'user', username);
      const user = await openSignInPage(portal, lng);
      await submitSignIn(user, username, password);
      return user;
    }

    async function expectEnrolled(user: Journey, methodName: string): Promise<void> {
      const { page, t } = user;
      expect(pathOf(page)).toBe('/account?enrolled');
      await expectPage(user, { status: 200, heading: t('account.title') });
      expect(await page.getByRole('status').textContent()).toBe(t('account.enrolled'));
      // Soft: a missing entry on My account should not keep the journey from signing in again.
      const shown = await summaryValue(page, methodName);
      expect.soft(shown, methodName).toMatch(/^\+\d+ •+ \d+/);
    }

    async function expectSignedIn(user: Journey): Promise<void> {
      expect(pathOf(user.page)).toBe('/account');
      await expectPage(user, { status: 200, heading: user.t('account.title') });
    }

    /** Signs out and in again, up to the second step's page for the method. */
    async function signInAgain(
      user: Journey,
      username: string,
      method: 'phone' | 'sms',
      masked: string,
    ) {
      const { page, t } = user;
      await signOut(user);
      await submitSignIn(user, username, password);
      expect(pathOf(page)).toBe('/verify');
      await expectPage(user, { status: 200, heading: t(`verify.${method}.title`) });
      expect(
        await page
          .getByText(t(`verify.${method}.intro`, { phone: spokenNumber(t, masked) }), {
            exact: true,
          })
          .count(),
      ).toBe(1);
      await pressEnter(page, page.getByRole('button', { name: t(`verify.${method}.start`) }));
    }

    it('in Dutch, a user sets up phone calls, answers with #, and signs in with a new call', async () => {
      const user = await startJourney('call-nl', 'nl');
      const phone = await portal.openTab('nl');
      const { page, t } = user;
      const call = {
        maskedPhone: '+31 ••• 67',
        heading: `${t('simulator.callTo', { phone: '+31201234567' })} ${t('simulator.extension', {
          extension: '12,3',
        })}`,
      };

      await chooseMethod(user, 'phone');
      await expectPage(user, { status: 200, heading: t('setup.phone.title') });

      await submitPhoneForm(user, { country: 'NL', number: '12', extension: '' });
      expect(pathOf(page)).toBe('/setup/phone');
      await expectPage(user, { status: 400, heading: t('setup.phone.title') });
      await expectFieldError(user, 'phoneNumber', t('phone.errors.invalid'));

      await submitPhoneForm(user, { country: 'NL', number: '020 123 4567', extension: '12,3' });
      expect(pathOf(page)).toBe('/setup/phone/wait');
      await proveByCall(user, phone, call);
      await expectEnrolled(user, t('methods.phone.name'));

      await signInAgain(user, 'call-nl', 'phone', '+31 ••• 67');
      expect(pathOf(page)).toBe('/verify/wait');
      await proveByCall(user, phone, call);
      await expectSignedIn(user);
    });

    it('in French, a user sets up text messages, types the texted code, and signs in with a new one', async () => {
      const user = await startJourney('text-fr', 'fr');
      const phone = await portal.openTab('fr');
      const { page, t } = user;
      const heading = t('simulator.textTo', { phone: '+33612345678' });
      const textedCode = async () => {
        const text = await newestOnPhone(phone, heading, 'delivered');
        const body = await bodyOf(text);
        const code = codeIn(body);
        expect(body).toBe(smsText(t('telephony.textCode', { code, count: 5 })));
        return code;
      };

      await chooseMethod(user, 'sms');
      await expectPage(user, { status: 200, heading: t('setup.sms.title') });

      await submitTextForm(user, { country: 'FR', number: '12' });
      expect(pathOf(page)).toBe('/setup/sms');
      await expectPage(user, { status: 400, heading: t('setup.sms.title') });
      await expectFieldError(user, 'mobileNumber', t('phone.errors.invalid'));

      await submitTextForm(user, { country: 'FR', number: '06 12 34 56 78' });
      expect(pathOf(page)).toBe('/setup/sms/code');
      await expectPage(user, { status: 200, heading: t('codes.smsTitle') });
      const sent = t('codes.smsSent', { phone: spokenNumber(t, '+33 ••• 78'), count: 5 });
      expect(await page.getByText(sent, { exact: true }).count()).toBe(1);
      const code = await textedCode();

      await submitCode(user, code.slice(1));
      expect(pathOf(page)).toBe('/setup/sms/code');
      await expectPage(user, { status: 400, heading: t('codes.smsTitle') });
      await expectFieldError(user, 'code', t('codes.errors.format', { digits: '6' }));

      await submitCode(user, code);
      await expectEnrolled(user, t('methods.sms.name'));

      await signInAgain(user, 'text-fr', 'sms', '+33 ••• 78');
      expect(pathOf(page)).toBe('/verify/sms-code');
      await expectPage(user, { status: 200, heading: t('codes.smsTitle') });
      const signInCode = await textedCode();
      // A new text, not the one that proved the number during set-up.
      expect(await phone.page.locator('article.simulated').count()).toBe(2);
      await submitCode(user, signInCode);
      await expectSignedIn(user);
    });

    it('in English with two-way texts, a user replies to the text to set it up and to sign in', async () => {
      await changeSettings(portal.services, { smsDirection: 'two-way' });
      const user = await startJourney('reply-en', 'en');
      const phone = await portal.openTab('en');
      const { page, t } = user;
      const text = {
        maskedPhone: '+44 ••• 56',
        heading: t('simulator.textTo', { phone: '+447400123456' }),
      };

      await chooseMethod(user, 'sms');
      await expectPage(user, { status: 200, heading: t('setup.sms.title') });
      await submitTextForm(user, { country: 'GB', number: '07400 123456' });
      expect(pathOf(page)).toBe('/setup/sms/wait');
      await proveByReply(user, phone, text);
      await expectEnrolled(user, t('methods.sms.name'));

      await signInAgain(user, 'reply-en', 'sms', '+44 ••• 56');
      expect(pathOf(page)).toBe('/verify/wait');
      await proveByReply(user, phone, text);
      await expectSignedIn(user);
    });

    describe.each(languages)('in %s', (lng) => {
      it('the set-up forms, their errors, the waiting and code pages and the phone pass the checks', async () => {
        const user = await startJourney(`pages-${lng}`, lng);
        const phone = await portal.openTab(lng);
        const { page, t } = user;

        await chooseMethod(user, 'phone');
        await expectPage(user, { status: 200, heading: t('setup.phone.title') });
        await submitPhoneForm(user, { country: 'BE', number: '12', extension: '' });
        await expectPage(user, { status: 400, heading: t('setup.phone.title') });
        await expectFieldError(user, 'phoneNumber', t('phone.errors.invalid'));
        await submitPhoneForm(user, { country: 'BE', number: '02 223 45 67', extension: '' });
        expect(pathOf(page)).toBe('/setup/phone/wait');
        await expectWaiting(user, 'phone', '+32 ••• 67');
        await newestOnPhone(phone, t('simulator.callTo', { phone: '+3222234567' }), 'ringing');
        await exerciseSelfRefresh(user);

        await pressEnter(page, page.getByRole('link', { name: t('wait.startAgain'), exact: true }));
        expect(pathOf(page)).toBe('/setup/phone');
        await pressEnter(
          page,
          page.getByRole('link', { name: t('setup.otherMethod'), exact: true }),
        );
        await chooseMethod(user, 'sms');
        await expectPage(user, { status: 200, heading: t('setup.sms.title') });
        await submitTextForm(user, { country: 'BE', number: '' });
        await expectPage(user, { status: 400, heading: t('setup.sms.title') });
        await expectFieldError(user, 'mobileNumber', t('phone.errors.missing'));
        await submitTextForm(user, { country: 'BE', number: '0470 12 34 56' });
        expect(pathOf(page)).toBe('/setup/sms/code');
        await expectPage(user, { status: 200, heading: t('codes.smsTitle') });
        await submitCode(user, '');
        await expectPage(user, { status: 400, heading: t('codes.smsTitle') });
        await expectFieldError(user, 'code', t('codes.errors.missing'));
        await newestOnPhone(phone, t('simulator.textTo', { phone: '+32470123456' }), 'delivered');
      });
    });
  },
);
