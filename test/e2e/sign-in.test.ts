import type { TFunction } from 'i18next';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http-server.ts';
import { languages, type Language } from '../../src/i18n.ts';
import {
  axeViolations,
  browserMissing,
  launchBrowser,
  newScriptlessContext,
  recordDocuments,
  type ReceivedDocument,
} from '../helpers/browser.ts';
import { startE2eServer, type E2eServer } from '../helpers/journey.ts';

/*
 * SPEC L1, L2 and S3 for signing in and out: by keyboard in Chromium with JavaScript disabled,
 * in every language, each page free of axe violations and of any script.
 */

const password = 'correct horse battery staple';

/** A scriptless tab and the documents it received that no check has looked at yet. */
interface Journey {
  page: Page;
  unchecked: Promise<ReceivedDocument>[];
}

interface ExpectedPage {
  lng: Language;
  status: number;
  heading: string;
}

function pathOf(page: Page): string {
  const url = new URL(page.url());
  return url.pathname + url.search;
}

/** Presses Enter on a control, as a keyboard user would, and waits for the page it leads to. */
async function pressEnter(page: Page, control: Locator): Promise<void> {
  await Promise.all([page.waitForEvent('load'), control.press('Enter')]);
}

/** Fills the sign-in form on the current page and submits it from the password field. */
async function submitSignIn(page: Page, t: TFunction, username: string, secret: string) {
  await page.getByLabel(t('signIn.username'), { exact: true }).fill(username);
  const passwordField = page.getByLabel(t('signIn.password'), { exact: true });
  await passwordField.fill(secret);
  await pressEnter(page, passwordField);
}

/**
 * What every page must be, whichever it is (SPEC S3, L1): sent under a CSP that allows no script
 * and without a script tag, like every response before it in the journey; in the chosen
 * language; and free of axe violations.
 */
async function expectPage({ page, unchecked }: Journey, expected: ExpectedPage): Promise<void> {
  const documents = await Promise.all(unchecked.splice(0));
  expect(documents.at(-1)?.status).toBe(expected.status);
  for (const { url, policy, body } of documents) {
    const directives = policy.split(';').map((directive) => directive.trim());
    expect(directives, `CSP of ${url}`).toContain("script-src 'none'");
    expect(body, url).not.toMatch(/<script/i);
  }
  expect(await page.locator('html').getAttribute('lang')).toBe(expected.lng);
  expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(expected.heading);
  expect(await page.locator('script').count()).toBe(0);
  expect(await axeViolations(page)).toEqual([]);
}

const noBrowser = await browserMissing();

// A journey crosses several pages, each checked by axe.
describe.skipIf(noBrowser)('Sign-in with JavaScript disabled', { timeout: 60_000 }, () => {
  let server: E2eServer;
  let running: RunningServer;
  let browser: Browser;
  let baseUrl: string;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    server = await startE2eServer();
    ({ running, baseUrl } = server);
    // This journey is about the password step; the second step has journeys of its own.
    await running.services.settings.write('trustedIps', ['127.0.0.1', '::1']);
    const { users, accounts } = running.services;
    const passwordHash = await accounts.hashPassword(password);
    for (const lng of languages) {
      for (const role of ['user', 'admin'] as const) {
        const username = `${role}-${lng}`;
        await users.create({ username, displayName: `${role} ${lng}`, passwordHash, role });
      }
    }
    browser = await launchBrowser();
  });

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  afterAll(async () => {
    await browser.close();
    await server.stop();
  });

  async function openJourney(): Promise<Journey> {
    const context = await newScriptlessContext(browser, baseUrl);
    contexts.push(context);
    const page = await context.newPage();
    return { page, unchecked: recordDocuments(page) };
  }

  describe.each(languages)('in %s', (lng) => {
    let t: TFunction;

    beforeAll(() => {
      t = running.services.i18n.getFixedT(lng);
    });

    it('a user signs in by keyboard, reaches My account and signs out', async () => {
      const journey = await openJourney();
      const { page } = journey;

      await page.goto(`/sign-in?lng=${lng}`);
      await expectPage(journey, { lng, status: 200, heading: t('signIn.title') });

      await submitSignIn(page, t, `user-${lng}`, password);
      expect(pathOf(page)).toBe('/account');
      await expectPage(journey, { lng, status: 200, heading: t('account.title') });
      expect(await page.getByText(t('account.welcome', { name: `user ${lng}` })).count()).toBe(1);

      await pressEnter(page, page.getByRole('button', { name: t('common.signOut') }));
      expect(pathOf(page)).toBe('/sign-in?signedOut');
      await expectPage(journey, { lng, status: 200, heading: t('signIn.title') });
      expect(await page.getByRole('status').textContent()).toBe(t('signIn.signedOut'));

      await page.goto('/account');
      expect(pathOf(page)).toBe('/sign-in');
    });

    it('a wrong password shows an error summary that leads to the field', async () => {
      const journey = await openJourney();
      const { page } = journey;

      await page.goto(`/sign-in?lng=${lng}`);
      await submitSignIn(page, t, `user-${lng}`, 'not the password');
      await expectPage(journey, { lng, status: 400, heading: t('signIn.title') });

      const title = await page.title();
      expect(title.startsWith(`${t('common.errorPrefix')} `), `title "${title}"`).toBe(true);
      const summary = page.locator('.error-summary[role="alert"]');
      expect(await summary.getByRole('heading').textContent()).toBe(t('common.errorSummaryTitle'));
      const link = summary.getByRole('link', { name: t('signIn.errors.invalidCredentials') });
      const usernameField = page.getByLabel(t('signIn.username'), { exact: true });
      const fieldId = await usernameField.getAttribute('id');
      expect(await link.getAttribute('href')).toBe(`#${fieldId}`);
      expect(await usernameField.getAttribute('aria-invalid')).toBe('true');

      await link.press('Enter');
      expect(await page.locator(':focus').getAttribute('id')).toBe(fieldId);
    });

    it('an administrator reaches the admin console from the header', async () => {
      const journey = await openJourney();
      const { page } = journey;

      await page.goto(`/sign-in?lng=${lng}`);
      await submitSignIn(page, t, `admin-${lng}`, password);

      await pressEnter(page, page.getByRole('link', { name: t('admin.title') }));
      expect(pathOf(page)).toBe('/admin');
      await expectPage(journey, { lng, status: 200, heading: t('admin.title') });
    });

    it('a user who is not an administrator is refused the admin console', async () => {
      const journey = await openJourney();
      const { page } = journey;

      await page.goto(`/sign-in?lng=${lng}`);
      await submitSignIn(page, t, `user-${lng}`, password);
      expect(pathOf(page)).toBe('/account');
      expect(await page.getByRole('link', { name: t('admin.title') }).count()).toBe(0);

      await page.goto('/admin');
      await expectPage(journey, { lng, status: 403, heading: t('errors.notAllowed.title') });
    });

    it('an unknown address shows the not-found page', async () => {
      const journey = await openJourney();

      await journey.page.goto(`/no-such-page?lng=${lng}`);
      await expectPage(journey, { lng, status: 404, heading: t('errors.notFound.title') });
    });
  });
});
