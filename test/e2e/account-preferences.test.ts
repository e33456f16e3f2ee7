import { beforeEach, describe, expect, it } from 'vitest';
import { actionLinkName } from '../helpers/link-names.ts';
import { appDeviceParameters } from '../../src/core/devices.ts';
import { generateOtpSecret } from '../../src/core/otp.ts';
import { defaultSettings } from '../../src/core/settings.ts';
import { languages, type Language } from '../../src/i18n.ts';
import { enrolWithApp, saveDevice } from '../helpers/account.ts';
import { browserMissing } from '../helpers/browser.ts';
import {
  chooseRadio,
  expectDone,
  expectErrorSummary,
  expectPage,
  openSignInPage,
  pathOf,
  pressEnter,
  signOut,
  submitSignIn,
  tabTo,
  useBrowserPortal,
  type Journey,
} from '../helpers/journey.ts';
import { appCode } from '../helpers/two-step.ts';

/*
 * SPEC J3, J5, M5, M6 in Chromium with JavaScript disabled, by keyboard: a user changes their
 * PIN (English), default method (Dutch), language (French to Dutch) and security questions
 * (French) on My account, and the next sign-in uses what they saved. Every page reached is
 * checked for its language, for the absence of any script and with axe, error pages included.
 */

const password = 'correct horse battery staple';
const answers = ['Rex', 'Utrecht', 'De Regenboog', 'Pieter'];

/** What the test knows of a user: the secret of each of their devices. */
interface TestUser {
  username: string;
  app: Buffer;
  token: Buffer | undefined;
}

const noBrowser = await browserMissing();

describe.skipIf(noBrowser)('My account preferences, no JavaScript', { timeout: 120_000 }, () => {
  const portal = useBrowserPortal({ RATE_LIMIT_SIGNIN_MAX: '1000' });

  beforeEach(async () => {
    const { settings } = portal.services;
    await settings.write('appMode', defaultSettings.appMode);
  });

  /** A user who set up the mobile app and questions (and, if asked, an OATH token). */
  async function enrolledUser(
    username: string,
    options: { language?: Language; token?: boolean; pin?: string } = {},
  ): Promise<TestUser> {
    const { language, pin } = options;
    const { user, secret: app } = await enrolWithApp(portal.services, username, password, {
      answers,
      ...(language ? { language } : {}),
      ...(pin ? { pin } : {}),
    });
    let token: Buffer | undefined;
    if (options.token) {
      token = generateOtpSecret();
      await saveDevice(portal.services, {
        userId: user.id,
        kind: 'token',
        name: 'TOK-7',
        serial: 'TOK-7',
        secret: token,
        params: appDeviceParameters,
      });
    }
    return { username, app, token };
  }

  /** The journey in another language from now on (the user chose it). */
  function speak(journey: Journey, lng: Language): void {
    journey.lng = lng;
    journey.t = portal.services.i18n.getFixedT(lng);
  }

  /** The password step; the second step then starts with the user's default method. */
  async function submitPassword(
    journey: Journey,
    username: string,
    method: 'app' | 'token' = 'app',
  ): Promise<void> {
    await submitSignIn(journey, username, password);
    expect(pathOf(journey.page)).toBe('/verify');
    await expectPage(journey, { status: 200, heading: journey.t(`verify.${method}.title`) });
  }

  /**
   * The second step with a code from the device the page asks for, and the PIN if it asks. Codes
   * are single use: a later sign-in with the same device takes the code of the next time step.
   */
  async function submitDeviceCode(
    journey: Journey,
    method: 'app' | 'token',
    secret: Buffer,
    options: { pin?: string; offsetSteps?: number } = {},
  ): Promise<void> {
    const { page, t } = journey;
    const { pin, offsetSteps = 0 } = options;
    const code = appCode(secret, offsetSteps);
    await page.getByLabel(t(`codes.${method}Label`), { exact: true }).fill(code);
    const last =
      pin === undefined
        ? page.getByLabel(t(`codes.${method}Label`), { exact: true })
        : page.getByLabel(t('pin.label'), { exact: true });
    if (pin !== undefined) await last.fill(pin);
    await pressEnter(page, last);
  }

  async function signIn(journey: Journey, user: TestUser, pin?: string): Promise<void> {
    await submitPassword(journey, user.username);
    await submitDeviceCode(journey, 'app', user.app, pin === undefined ? {} : { pin });
    expect(pathOf(journey.page)).toBe('/account');
    await expectPage(journey, { status: 200, heading: journey.t('account.title') });
  }

  async function signOutToSignIn(journey: Journey): Promise<void> {
    await signOut(journey);
    await expectPage(journey, { status: 200, heading: journey.t('signIn.title') });
  }

  /** From My account, follows the "Change …" link of a row by keyboard. */
  async function followChange(journey: Journey, row: string, path: string, heading: string) {
    const { page, t } = journey;
    const name = actionLinkName(
      t,
      'account.summary.linkName',
      t('account.summary.change'),
      row,
      journey.lng,
    );
    const link = page.getByRole('link', { name, exact: true });
    await tabTo(page, link);
    await pressEnter(page, link);
    expect(pathOf(page)).toBe(path);
    await expectPage(journey, { status: 200, heading });
  }

  it('in English, a user changes their PIN, and the next sign-in needs the new one', async () => {
    const user = await enrolledUser('pin-en', { pin: '1357' });
    await portal.services.settings.write('appMode', 'pin');
    const journey = await openSignInPage(portal, 'en');
    const { page, t } = journey;
    await signIn(journey, user, '1357');

    const heading = t('preferences.pin.titleChange');
    await followChange(journey, t('account.summary.pin'), '/account/pin', heading);
    const pin = page.getByLabel(t('preferences.pin.new'), { exact: true });
    const confirmation = page.getByLabel(t('preferences.pin.confirm'), { exact: true });
    await pin.fill('2580');
    await confirmation.fill('2581');
    await pressEnter(page, confirmation);
    await expectPage(journey, { status: 400, heading });
    await expectErrorSummary(journey, [t('pin.errors.mismatch')]);

    await tabTo(page, pin);
    await page.keyboard.type('2580');
    await page.keyboard.press('Tab');
    await page.keyboard.type('2580');
    await pressEnter(page, confirmation);
    await expectDone(journey, 'pin');

    await signOutToSignIn(journey);
    await submitPassword(journey, user.username);
    // A wrong PIN spends no code: the same one is good with the right PIN.
    await submitDeviceCode(journey, 'app', user.app, { pin: '1357', offsetSteps: 1 });
    await expectPage(journey, { status: 400, heading: t('verify.app.title') });
    await expectErrorSummary(journey, [t('codes.errors.wrongWithPin')]);
    await submitDeviceCode(journey, 'app', user.app, { pin: '2580', offsetSteps: 1 });
    expect(pathOf(page)).toBe('/account');
    await expectPage(journey, { status: 200, heading: t('account.title') });
  });

  it('in Dutch, a user with an app and a token makes the token their default method', async () => {
    const user = await enrolledUser('method-nl', { language: 'nl', token: true });
    const journey = await openSignInPage(portal, 'nl');
    const { page, t } = journey;
    await signIn(journey, user);

    const heading = t('preferences.method.title');
    await followChange(journey, t('account.summary.defaultMethod'), '/account/method', heading);
    expect(await page.locator('input[name="method"][value="app"]').isChecked()).toBe(true);
    await chooseRadio(page, 'method', 'token');
    await pressEnter(page, page.getByRole('button', { name: t('preferences.save') }));
    await expectDone(journey, 'method');

    await signOutToSignIn(journey);
    await submitPassword(journey, user.username, 'token');
    await submitDeviceCode(journey, 'token', user.token ?? Buffer.alloc(0));
    expect(pathOf(page)).toBe('/account');
    await expectPage(journey, { status: 200, heading: t('account.title') });
  });

  it('in French, a user switches to Dutch and My account answers in Dutch', async () => {
    const user = await enrolledUser('language-fr', { language: 'fr' });
    const journey = await openSignInPage(portal, 'fr');
    const { page } = journey;
    await signIn(journey, user);

    const heading = journey.t('preferences.language.title');
    await followChange(
      journey,
      journey.t('account.summary.language'),
      '/account/language',
      heading,
    );
    expect(await page.locator('label[for="language-1"]').getAttribute('lang')).toBe('nl');
    await chooseRadio(page, 'language', 'nl');
    await pressEnter(page, page.getByRole('button', { name: journey.t('preferences.save') }));
    speak(journey, 'nl');
    await expectDone(journey, 'language');

    await signOutToSignIn(journey);
    expect(await page.locator('html').getAttribute('lang')).toBe('nl');
  });

  it('in French, a user answers new security questions, and the fallback accepts them', async () => {
    const user = await enrolledUser('questions-fr', { language: 'fr' });
    const journey = await openSignInPage(portal, 'fr');
    const { page, t } = journey;
    await signIn(journey, user);

    const heading = t('preferences.questions.title');
    await followChange(journey, t('account.summary.questions'), '/account/questions', heading);
    const submit = page.getByRole('button', { name: t('preferences.questions.submit') });
    await pressEnter(page, submit);
    await expectPage(journey, { status: 400, heading });

    const chosen = new Map<string, string>();
    const newAnswers = ['Bello', 'Zwolle', 'Les Tilleuls', 'Anouk'];
    for (const [i, answer] of newAnswers.entries()) {
      const select = page.locator(`select#question${i}`);
      await tabTo(page, select);
      // The first option only asks to choose; each ArrowDown moves on to the next question.
      for (let moves = 0; moves <= i; moves++) await page.keyboard.press('ArrowDown');
      chosen.set((await select.locator('option:checked').textContent()) ?? '', answer);
      await page.keyboard.press('Tab');
      await page.locator(`input#answer${i}:focus`).fill(answer);
    }
    await pressEnter(page, submit);
    await expectDone(journey, 'questions');

    await signOutToSignIn(journey);
    await submitPassword(journey, user.username);
    const fallback = page.getByRole('link', { name: t('verify.questions.use') });
    await tabTo(page, fallback);
    await pressEnter(page, fallback);
    await expectPage(journey, { status: 200, heading: t('verify.questions.title') });
    const fields = await page.locator('input[id^="answer"]').all();
    expect(fields).toHaveLength(2);
    for (const field of fields) {
      const id = (await field.getAttribute('id')) ?? '';
      const label = (await page.locator(`label[for="${id}"]`).textContent()) ?? '';
      expect(chosen.has(label), label).toBe(true);
      await field.fill(chosen.get(label) ?? '');
    }
    await pressEnter(page, fields[1] ?? fields[0] ?? page.locator('input'));
    expect(pathOf(page)).toBe('/account');
    await expectPage(journey, { status: 200, heading: t('account.title') });
  });

  it('passes axe on the four pages in English, Dutch and French, with and without errors', async () => {
    const user = await enrolledUser('axe-all', { pin: '1357', token: true });
    await portal.services.settings.write('appMode', 'pin');
    // No default method saved, so that the method form can be sent without a choice. The
    // language form always has one: its error is not reachable from the page.
    await portal.services.database.db
      .updateTable('users')
      .set({ default_method: null })
      .where('username', '=', user.username)
      .execute();
    const journey = await openSignInPage(portal, 'en');
    const { page } = journey;
    await signIn(journey, user, '1357');
    const pages = [
      ['/account/pin', 'preferences.pin.titleChange', 'preferences.pin.submit'],
      ['/account/method', 'preferences.method.title', 'preferences.save'],
      ['/account/language', 'preferences.language.title', 'preferences.save'],
      ['/account/questions', 'preferences.questions.title', 'preferences.questions.submit'],
    ] as const;
    for (const lng of languages) {
      speak(journey, lng);
      for (const [path, title, button] of pages) {
        await page.goto(`${path}?lng=${lng}`);
        const heading = journey.t(title);
        await expectPage(journey, { status: 200, heading });
        if (path === '/account/language') continue;
        await pressEnter(page, page.getByRole('button', { name: journey.t(button) }));
        await expectPage(journey, { status: 400, heading });
      }
    }
  });
});
