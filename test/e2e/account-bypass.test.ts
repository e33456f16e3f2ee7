import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Language } from '../../src/i18n.ts';
import { changeSettings } from '../helpers/app.ts';
import { accountOf, enrolWithApp } from '../helpers/account.ts';
import { browserMissing } from '../helpers/browser.ts';
import { cliContext } from '../helpers/context.ts';
import {
  expectDone,
  expectErrorSummary,
  expectPage,
  openSignInPage,
  pathOf,
  pressEnter,
  signInWithApp,
  signOut,
  submitSignIn,
  tabTo,
  useBrowserPortal,
  type Journey,
} from '../helpers/journey.ts';

/*
 * SPEC J1, J3, M7 in Chromium with JavaScript disabled, by keyboard: a user starts a one-time
 * bypass on My account (English with the plain button, Dutch typing the seconds after a wrong
 * value), signs out and back in with the password alone; a French user cancels theirs and is
 * asked for the second step again. The bypass page is checked with axe in each language, with
 * and without the seconds field, with and without a pending bypass.
 */

const password = 'correct horse battery staple';

const noBrowser = await browserMissing();

describe.skipIf(noBrowser)('One-time bypass, no JavaScript', { timeout: 120_000 }, () => {
  const portal = useBrowserPortal({ RATE_LIMIT_SIGNIN_MAX: '1000' });

  beforeAll(async () => {
    await changeSettings(portal.services, { allowBypass: true });
  });

  beforeEach(async () => {
    await changeSettings(portal.services, { promptBypassSeconds: false });
  });

  /** A user who has set up the mobile app; returns its secret. */
  async function appUser(username: string, language: Language): Promise<Buffer> {
    return (await enrolWithApp(portal.services, username, password, { language })).secret;
  }

  /** The password step; lands on the second step, or straight on My account with a bypass. */
  async function submitPassword(journey: Journey, username: string, lands: string) {
    await submitSignIn(journey, username, password);
    expect(pathOf(journey.page)).toBe(lands);
  }

  async function signOutToSignIn(journey: Journey) {
    await signOut(journey);
    await expectPage(journey, { status: 200, heading: journey.t('signIn.title') });
  }

  /** Follows a link on the page by keyboard to the bypass page. */
  async function openBypassPage(journey: Journey, linkText: string) {
    const { page, t } = journey;
    const link = page.getByRole('link', { name: linkText });
    await tabTo(page, link);
    await pressEnter(page, link);
    expect(pathOf(page)).toBe('/account/bypass');
    await expectPage(journey, { status: 200, heading: t('bypassPage.title') });
  }

  /** The other form of the start page (with or without the seconds field), for axe too. */
  async function checkOtherForm(journey: Journey, prompt: boolean) {
    const { page, t } = journey;
    await changeSettings(portal.services, { promptBypassSeconds: !prompt });
    await page.goto('/account/bypass');
    await expectPage(journey, { status: 200, heading: t('bypassPage.title') });
    expect(await page.locator('input[name="seconds"]').count()).toBe(prompt ? 0 : 1);
    await changeSettings(portal.services, { promptBypassSeconds: prompt });
    await page.goto('/account/bypass');
    await expectPage(journey, { status: 200, heading: t('bypassPage.title') });
  }

  /** From My account to the pending bypass: it says until when, and offers to cancel it. */
  async function openPendingBypass(journey: Journey) {
    const { page, t } = journey;
    await openBypassPage(journey, t('account.summary.bypassManage'));
    expect(await page.locator('.notice').textContent()).toBe(t('bypassPage.pending.intro'));
    const until = await page.locator('time').getAttribute('datetime');
    expect(Date.parse(until ?? '')).toBeGreaterThan(Date.now());
  }

  it('in English, a user starts a 5-minute bypass and signs in once with the password alone', async () => {
    const secret = await appUser('bypass-en', 'en');
    const journey = await openSignInPage(portal, 'en');
    const { page, t } = journey;
    await signInWithApp(journey, 'bypass-en', password, secret);

    await openBypassPage(journey, t('account.summary.bypassStart'));
    await checkOtherForm(journey, false);
    const start = page.getByRole('button', {
      name: t('bypassPage.startFor', { length: '5 minutes' }),
    });
    await tabTo(page, start);
    await pressEnter(page, start);
    await expectDone(journey, 'bypassIssued');
    await openPendingBypass(journey);
    const back = page.getByRole('link', { name: t('bypassPage.back') });
    await tabTo(page, back);
    await pressEnter(page, back);
    await expectPage(journey, { status: 200, heading: t('account.title') });

    await signOutToSignIn(journey);
    await submitPassword(journey, 'bypass-en', '/account');
    await expectPage(journey, { status: 200, heading: t('account.title') });
    expect(await page.getByText(t('account.summary.bypassNone')).count()).toBe(1);

    await signOutToSignIn(journey);
    await submitPassword(journey, 'bypass-en', '/verify');
    await expectPage(journey, { status: 200, heading: t('verify.app.title') });
  });

  it('in Dutch, a user types how many seconds, corrects a wrong value, and uses the bypass', async () => {
    const secret = await appUser('bypass-nl', 'nl');
    await changeSettings(portal.services, { promptBypassSeconds: true });
    const journey = await openSignInPage(portal, 'nl');
    const { page, t } = journey;
    await signInWithApp(journey, 'bypass-nl', password, secret);

    await openBypassPage(journey, t('account.summary.bypassStart'));
    await checkOtherForm(journey, true);
    const seconds = page.getByLabel(t('bypassPage.seconds.label'), { exact: true });
    expect(await seconds.inputValue()).toBe('300');
    await tabTo(page, seconds);
    await page.keyboard.press('Control+A');
    await page.keyboard.type('30');
    await pressEnter(page, seconds);
    await expectPage(journey, { status: 400, heading: t('bypassPage.title') });
    await expectErrorSummary(journey, [t('bypassPage.errors.range', { min: 60, max: 3600 })]);
    expect(await seconds.getAttribute('aria-invalid')).toBe('true');
    expect(await bypassCount('bypass-nl')).toBe(0);

    await tabTo(page, seconds);
    await page.keyboard.press('Control+A');
    await page.keyboard.type('600');
    await pressEnter(page, page.getByRole('button', { name: t('bypassPage.start') }));
    await expectDone(journey, 'bypassIssued');
    await openPendingBypass(journey);

    await signOutToSignIn(journey);
    await submitPassword(journey, 'bypass-nl', '/account');
    await expectPage(journey, { status: 200, heading: t('account.title') });
  });

  it('in French, a user cancels their bypass and the next sign-in asks for the second step', async () => {
    const secret = await appUser('bypass-fr', 'fr');
    const journey = await openSignInPage(portal, 'fr');
    const { page, t } = journey;
    await signInWithApp(journey, 'bypass-fr', password, secret);

    await openBypassPage(journey, t('account.summary.bypassStart'));
    await checkOtherForm(journey, false);
    const start = page.getByRole('button', {
      name: t('bypassPage.startFor', { length: '5 minutes' }),
    });
    await tabTo(page, start);
    await pressEnter(page, start);
    await expectDone(journey, 'bypassIssued');
    await openPendingBypass(journey);

    const cancel = page.getByRole('button', { name: t('bypassPage.cancel') });
    await tabTo(page, cancel);
    await pressEnter(page, cancel);
    await expectDone(journey, 'bypassCancelled');
    expect(await page.getByText(t('account.summary.bypassNone')).count()).toBe(1);

    await signOutToSignIn(journey);
    await submitPassword(journey, 'bypass-fr', '/verify');
    await expectPage(journey, { status: 200, heading: t('verify.app.title') });
  });

  /** How many bypasses the user started: each is audited once when issued (SPEC A4). */
  async function bypassCount(username: string) {
    const { id: userId } = await accountOf(portal.services, username);
    const issued = await portal.services.mfa.administration.auditEvents(cliContext, {
      userId,
      type: 'bypass.issued',
    });
    return issued.length;
  }
});
