import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  decodeBase32,
  encodeBase32,
  formatSecretForReading,
  generateOtpSecret,
  hotp,
  totp,
  type OtpAlgorithm,
} from '../../src/core/otp.ts';
import { languages, type Language } from '../../src/i18n.ts';
import { createUser } from '../helpers/app.ts';
import { browserMissing } from '../helpers/browser.ts';
import { appCode } from '../helpers/two-step.ts';
import {
  summaryValue,
  chooseRadio,
  expectErrorSummary,
  expectPage,
  pathOf,
  pressEnter,
  signOut,
  submitSignIn,
  tabTo,
  useBrowserPortal,
  type Journey,
} from '../helpers/journey.ts';

/*
 * SPEC J1, J2, M3, M4, M6 and M8 in Chromium with JavaScript disabled, by keyboard: setting up
 * the mobile app or an OATH token with security questions, then the second step at sign-in, in
 * English, Dutch and French. Every page reached is checked for its language, for the absence of
 * any script (SPEC S3) and with axe (SPEC L1), error pages included.
 */

const password = 'correct horse battery staple';

/** An OATH token as printed on its sleeve, in the form's own values. */
interface Token {
  serial: string;
  secret: Buffer;
  otpType: 'totp' | 'hotp';
  digits: '6' | '8';
  period: '30' | '60';
  algorithm: OtpAlgorithm;
}

/** The code a token shows at a counter (HOTP) or that many time steps from now (TOTP). */
function tokenCode(token: Token, counterOrSteps: number): string {
  const digits = token.digits === '8' ? 8 : 6;
  if (token.otpType === 'hotp') {
    return hotp(token.secret, counterOrSteps, { algorithm: token.algorithm, digits });
  }
  const period = token.period === '60' ? 60 : 30;
  const time = Date.now() + counterOrSteps * period * 1000;
  return totp(token.secret, time, { algorithm: token.algorithm, digits, period });
}

/** Every code a token could accept now, generously: a few time steps or many counters. */
function codesInReach(token: Token): string[] {
  const reach = token.otpType === 'hotp' ? [...Array(300).keys()] : [-2, -1, 0, 1, 2];
  return reach.map((n) => tokenCode(token, n));
}

function appCodesInReach(secret: Buffer): string[] {
  return [-2, -1, 0, 1, 2].map((steps) => appCode(secret, steps));
}

/** A well-formed code that no valid one equals, so that it is surely refused. */
function codeOtherThan(valid: readonly string[], digits = 6): string {
  for (let n = 0; ; n++) {
    const code = String(n).padStart(digits, '0');
    if (!valid.includes(code)) return code;
  }
}

async function submitCode(page: Page, field: Locator, code: string): Promise<void> {
  await field.fill(code);
  await pressEnter(page, field);
}

/** Fills the token form by keyboard, typing the secret as printed: in groups, lower case. */
async function submitToken({ page, t }: Journey, token: Token, code: string): Promise<void> {
  await page.getByLabel(t('setup.token.serial'), { exact: true }).fill(token.serial);
  const typedSecret = formatSecretForReading(encodeBase32(token.secret)).toLowerCase();
  await page.getByLabel(t('setup.token.secret'), { exact: true }).fill(typedSecret);
  for (const name of ['otpType', 'digits', 'period', 'algorithm'] as const) {
    await chooseRadio(page, name, token[name]);
  }
  await submitCode(page, page.getByLabel(t('codes.tokenLabel'), { exact: true }), code);
}

/**
 * Picks question 1 for the first answer, question 2 for the second and so on, by keyboard, and
 * saves. Returns each chosen question's text with its answer.
 */
async function answerSecurityQuestions(
  { page, t }: Journey,
  answers: readonly string[],
): Promise<Map<string, string>> {
  const chosen = new Map<string, string>();
  for (const [i, answer] of answers.entries()) {
    const select = page.locator(`select#question${i}`);
    await tabTo(page, select);
    // The first option only asks to choose; each ArrowDown moves on to the next question.
    for (let moves = 0; moves <= i; moves++) await page.keyboard.press('ArrowDown');
    const question = (await select.locator('option:checked').textContent()) ?? '';
    chosen.set(question, answer);
    await page.keyboard.press('Tab');
    await page.locator(`input#answer${i}:focus`).fill(answer);
  }
  await pressEnter(page, page.getByRole('button', { name: t('setup.questions.submit') }));
  return chosen;
}

const noBrowser = await browserMissing();

// A journey crosses many pages, each checked by axe.
describe.skipIf(noBrowser)('Two-step verification, no JavaScript', { timeout: 120_000 }, () => {
  // Every test signs in from the same address, more often than a person would.
  const portal = useBrowserPortal({ RATE_LIMIT_SIGNIN_MAX: '1000' });

  /** A fresh user with no method yet, and a tab showing the sign-in page in their language. */
  async function startJourney(username: string, lng: Language): Promise<Journey> {
    await createUser(portal, username, password, 'user', username);
    const journey = await portal.openTab(lng);
    await journey.page.goto(`/sign-in?lng=${lng}`);
    return journey;
  }

  it('in English, a user sets up the mobile app and questions, then signs in with a new code', async () => {
    const journey = await startJourney('app-en', 'en');
    const { page, t } = journey;

    await submitSignIn(journey, 'app-en', password);
    expect(pathOf(page)).toBe('/setup');
    await expectPage(journey, { status: 200, heading: t('setup.choose.title') });

    await chooseRadio(page, 'method', 'app');
    await pressEnter(page, page.getByRole('button', { name: t('common.continue') }));
    expect(pathOf(page)).toBe('/setup/app');
    await expectPage(journey, { status: 200, heading: t('setup.app.title') });
    expect(await page.locator('code.secret').count()).toBe(0);

    await pressEnter(page, page.getByRole('button', { name: t('setup.app.generate') }));
    expect(pathOf(page)).toBe('/setup/app');
    await expectPage(journey, { status: 200, heading: t('setup.app.title') });
    expect(await page.getByRole('img', { name: t('setup.app.qrAlt') }).count()).toBe(1);
    const groupedSecret = (await page.locator('code.secret').textContent()) ?? '';
    expect(groupedSecret).toMatch(/^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$/);
    const secret = decodeBase32(groupedSecret);
    expect(await page.locator('code.uri').textContent()).toMatch(
      new RegExp(`^otpauth://totp/MFA%20Portal:app-en\\?secret=${encodeBase32(secret)}&`),
    );
    // People setting up on the same phone open the same link (review: "Activation link" was text).
    const link = page.getByRole('link', { name: t('setup.app.openLink') });
    expect(await link.getAttribute('href')).toBe(await page.locator('code.uri').textContent());

    const setupField = page.getByLabel(t('codes.appLabel'), { exact: true });
    await submitCode(page, setupField, codeOtherThan(appCodesInReach(secret)));
    await expectPage(journey, { status: 400, heading: t('setup.app.title') });
    await expectErrorSummary(journey, [t('codes.errors.wrong')]);

    const setupCode = appCode(secret);
    await submitCode(page, setupField, setupCode);
    expect(pathOf(page)).toBe('/setup/questions');
    await expectPage(journey, { status: 200, heading: t('setup.questions.title') });

    await answerSecurityQuestions(journey, ['Rex', 'Utrecht', 'De Regenboog', 'Pieter']);
    expect(pathOf(page)).toBe('/account?enrolled');
    await expectPage(journey, { status: 200, heading: t('account.title') });
    expect(await page.getByRole('status').textContent()).toBe(t('account.enrolled'));
    expect(await summaryValue(page, t('methods.app.name'))).toBe('Mobile app 1');

    await signOut(journey);
    await submitSignIn(journey, 'app-en', password);
    expect(pathOf(page)).toBe('/verify');
    await expectPage(journey, { status: 200, heading: t('verify.app.title') });

    // The code that proved the app during set-up is spent (SPEC M8).
    const codeField = page.getByLabel(t('codes.appLabel'), { exact: true });
    await submitCode(page, codeField, setupCode);
    await expectPage(journey, { status: 400, heading: t('verify.app.title') });
    await expectErrorSummary(journey, [t('codes.errors.wrong')]);

    await submitCode(page, codeField, appCode(secret, 1));
    expect(pathOf(page)).toBe('/account');
    await expectPage(journey, { status: 200, heading: t('account.title') });
  });

  it('in Dutch, a user associates an HOTP token and questions, then signs in with its next code', async () => {
    const journey = await startJourney('hotp-nl', 'nl');
    const { page, t } = journey;
    const token: Token = {
      serial: 'NL-HOTP-0001',
      secret: generateOtpSecret(),
      otpType: 'hotp',
      digits: '6',
      period: '30',
      algorithm: 'SHA1',
    };

    await submitSignIn(journey, 'hotp-nl', password);
    expect(pathOf(page)).toBe('/setup');
    await expectPage(journey, { status: 200, heading: t('setup.choose.title') });

    await chooseRadio(page, 'method', 'token');
    await pressEnter(page, page.getByRole('button', { name: t('common.continue') }));
    expect(pathOf(page)).toBe('/setup/token');
    await expectPage(journey, { status: 200, heading: t('setup.token.title') });

    await submitToken(journey, token, codeOtherThan(codesInReach(token)));
    await expectPage(journey, { status: 400, heading: t('setup.token.title') });
    await expectErrorSummary(journey, [t('codes.errors.wrong')]);
    // The secret is not sent back to the browser; the rest of the form is kept.
    expect(await page.getByLabel(t('setup.token.secret'), { exact: true }).inputValue()).toBe('');
    expect(await page.getByLabel(t('setup.token.serial'), { exact: true }).inputValue()).toBe(
      token.serial,
    );

    await submitToken(journey, token, tokenCode(token, 0));
    expect(pathOf(page)).toBe('/setup/questions');
    await expectPage(journey, { status: 200, heading: t('setup.questions.title') });

    await pressEnter(page, page.getByRole('button', { name: t('setup.questions.submit') }));
    await expectPage(journey, { status: 400, heading: t('setup.questions.title') });
    // Each link of the summary names its question (the language review).
    await expectErrorSummary(
      journey,
      [1, 2, 3, 4].flatMap((number) => [
        t('setup.questions.errors.choose', { number }),
        t('setup.questions.errors.answerMissing', { number }),
      ]),
    );

    await answerSecurityQuestions(journey, ['Bello', 'Gouda', 'De Klimop', 'Sanne']);
    expect(pathOf(page)).toBe('/account?enrolled');
    await expectPage(journey, { status: 200, heading: t('account.title') });
    expect(await page.getByRole('status').textContent()).toBe(t('account.enrolled'));
    expect(await summaryValue(page, t('methods.token.name'))).toBe(token.serial);

    await signOut(journey);
    await submitSignIn(journey, 'hotp-nl', password);
    expect(pathOf(page)).toBe('/verify');
    await expectPage(journey, { status: 200, heading: t('verify.token.title') });

    const codeField = page.getByLabel(t('codes.tokenLabel'), { exact: true });
    await submitCode(page, codeField, tokenCode(token, 0));
    await expectPage(journey, { status: 400, heading: t('verify.token.title') });
    await expectErrorSummary(journey, [t('codes.errors.wrong')]);

    await submitCode(page, codeField, tokenCode(token, 1));
    expect(pathOf(page)).toBe('/account');
    await expectPage(journey, { status: 200, heading: t('account.title') });
  });

  it('in French, a user sets up a TOTP token, signs in with the security questions, and five wrong codes lock the account', async () => {
    const journey = await startJourney('totp-fr', 'fr');
    const { page, t } = journey;
    const token: Token = {
      serial: 'FR-TOTP-0001',
      secret: generateOtpSecret(32),
      otpType: 'totp',
      digits: '8',
      period: '60',
      algorithm: 'SHA256',
    };

    await submitSignIn(journey, 'totp-fr', password);
    expect(pathOf(page)).toBe('/setup');
    await expectPage(journey, { status: 200, heading: t('setup.choose.title') });

    await chooseRadio(page, 'method', 'token');
    await pressEnter(page, page.getByRole('button', { name: t('common.continue') }));
    expect(pathOf(page)).toBe('/setup/token');
    await expectPage(journey, { status: 200, heading: t('setup.token.title') });

    await submitToken(journey, token, codeOtherThan(codesInReach(token), 8));
    await expectPage(journey, { status: 400, heading: t('setup.token.title') });
    await expectErrorSummary(journey, [t('codes.errors.wrong')]);

    await submitToken(journey, token, tokenCode(token, 0));
    expect(pathOf(page)).toBe('/setup/questions');
    await expectPage(journey, { status: 200, heading: t('setup.questions.title') });

    // What the user typed at set-up, and how they type it at sign-in (SPEC M6).
    const typedLater = new Map([
      ['Minou', '  MINOU '],
      ['Liège', 'liege'],
      ['École Saint-Jean', 'ecole   SAINT-JEAN'],
      ['Amélie', 'AMELIE'],
    ]);
    const answers = await answerSecurityQuestions(journey, [...typedLater.keys()]);
    expect(pathOf(page)).toBe('/account?enrolled');
    await expectPage(journey, { status: 200, heading: t('account.title') });

    await signOut(journey);
    await submitSignIn(journey, 'totp-fr', password);
    expect(pathOf(page)).toBe('/verify');
    await expectPage(journey, { status: 200, heading: t('verify.token.title') });

    await pressEnter(page, page.getByRole('link', { name: t('verify.questions.use') }));
    expect(pathOf(page)).toBe('/verify/questions');
    await expectPage(journey, { status: 200, heading: t('verify.questions.title') });
    // Each question is numbered, so that an error can say which one it means.
    const labels = await page.locator('form label').allTextContents();
    expect(labels).toHaveLength(2);
    expect(labels.map((label) => label.slice(0, 3))).toEqual(['1. ', '2. ']);
    const asked = labels.map((label) => label.slice(3));
    for (const question of asked) expect([...answers.keys()]).toContain(question);

    const answerFields = labels.map((label) => page.getByLabel(label, { exact: true }));
    for (const field of answerFields) await field.fill('Paris');
    await pressEnter(page, page.locator('#answer0'));
    await expectPage(journey, { status: 400, heading: t('verify.questions.title') });
    await expectErrorSummary(journey, [t('verify.questions.errors.wrong')]);

    for (const [i, question] of asked.entries()) {
      const typed = typedLater.get(answers.get(question) ?? '') ?? '';
      await page.getByLabel(labels[i] ?? '', { exact: true }).fill(typed);
    }
    await pressEnter(page, page.locator('#answer0'));
    expect(pathOf(page)).toBe('/account');
    await expectPage(journey, { status: 200, heading: t('account.title') });

    await signOut(journey);
    await submitSignIn(journey, 'totp-fr', password);
    expect(pathOf(page)).toBe('/verify');
    const codeField = page.getByLabel(t('codes.tokenLabel'), { exact: true });
    const wrongCode = codeOtherThan(codesInReach(token), 8);
    await submitCode(page, codeField, wrongCode);
    await expectPage(journey, { status: 400, heading: t('verify.token.title') });
    await expectErrorSummary(journey, [t('codes.errors.wrong')]);
    for (let attempt = 2; attempt <= 4; attempt++) {
      await submitCode(page, codeField, wrongCode);
      expect((await journey.unchecked.at(-1))?.status, `attempt ${attempt}`).toBe(400);
    }
    await submitCode(page, codeField, wrongCode);
    expect(pathOf(page)).toBe('/verify');
    await expectPage(journey, { status: 403, heading: t('verify.locked.title') });
    expect(await page.getByText(t('verify.locked.body', { count: 15 })).count()).toBe(1);

    // The lock holds for a new session too, whatever the password.
    await pressEnter(page, page.getByRole('link', { name: t('errors.backToSignIn') }));
    await submitSignIn(journey, 'totp-fr', password);
    expect(pathOf(page)).toBe('/sign-in');
    await expectPage(journey, { status: 400, heading: t('signIn.title') });
    await expectErrorSummary(journey, [t('signIn.errors.invalidCredentials')]);
  });

  describe.each(languages)('in %s', (lng) => {
    it('continuing without choosing a method shows an error summary that leads to the options', async () => {
      const journey = await startJourney(`no-choice-${lng}`, lng);
      const { page, t } = journey;

      await submitSignIn(journey, `no-choice-${lng}`, password);
      await pressEnter(page, page.getByRole('button', { name: t('common.continue') }));
      expect(pathOf(page)).toBe('/setup');
      await expectPage(journey, { status: 400, heading: t('setup.choose.title') });
      await expectErrorSummary(journey, [t('setup.errors.chooseMethod')]);
    });

    it('every page of set-up and of the second step passes axe', async () => {
      const journey = await startJourney(`pages-${lng}`, lng);
      const { page, t } = journey;

      await submitSignIn(journey, `pages-${lng}`, password);
      expect(pathOf(page)).toBe('/setup');
      await expectPage(journey, { status: 200, heading: t('setup.choose.title') });

      await page.goto('/setup/token');
      await expectPage(journey, { status: 200, heading: t('setup.token.title') });

      await page.goto('/setup/app');
      await expectPage(journey, { status: 200, heading: t('setup.app.title') });
      await pressEnter(page, page.getByRole('button', { name: t('setup.app.generate') }));
      await expectPage(journey, { status: 200, heading: t('setup.app.title') });
      const secret = decodeBase32((await page.locator('code.secret').textContent()) ?? '');

      const setupField = page.getByLabel(t('codes.appLabel'), { exact: true });
      await submitCode(page, setupField, appCode(secret));
      expect(pathOf(page)).toBe('/setup/questions');
      await expectPage(journey, { status: 200, heading: t('setup.questions.title') });
      await answerSecurityQuestions(journey, ['one', 'two', 'three', 'four']);
      expect(pathOf(page)).toBe('/account?enrolled');

      await signOut(journey);
      await submitSignIn(journey, `pages-${lng}`, password);
      expect(pathOf(page)).toBe('/verify');
      await expectPage(journey, { status: 200, heading: t('verify.app.title') });

      await pressEnter(page, page.getByRole('link', { name: t('verify.questions.use') }));
      expect(pathOf(page)).toBe('/verify/questions');
      await expectPage(journey, { status: 200, heading: t('verify.questions.title') });

      await pressEnter(page, page.getByRole('link', { name: t('verify.questions.back') }));
      expect(pathOf(page)).toBe('/verify');
      const codeField = page.getByLabel(t('codes.appLabel'), { exact: true });
      const wrongCode = codeOtherThan(appCodesInReach(secret));
      for (let attempt = 1; attempt <= 5; attempt++) await submitCode(page, codeField, wrongCode);
      await expectPage(journey, { status: 403, heading: t('verify.locked.title') });
    });
  });
});
