import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newDeviceRow, appDeviceParameters } from '../../src/core/devices.ts';
import { generateOtpSecret } from '../../src/core/otp.ts';
import type { RunningServer } from '../../src/http-server.ts';
import { languages, type Language } from '../../src/i18n.ts';
import {
  browserMissing,
  launchBrowser,
  newScriptlessContext,
  recordDocuments,
} from '../helpers/browser.ts';
import {
  expectPage,
  pathOf,
  pressEnter,
  startE2eServer,
  tabTo,
  type E2eServer,
  type Journey,
} from '../helpers/journey.ts';
import { appCode } from '../helpers/two-step.ts';

/*
 * SPEC J3 in Chromium with JavaScript disabled, by keyboard: My account's summary, and the proof
 * a user gives before changing a factor when their session holds no recent one (a trusted-IP
 * sign-in here), in English, Dutch and French, every page checked with axe.
 */

const password = 'correct horse battery staple';
const noBrowser = await browserMissing();

describe.skipIf(noBrowser)(
  'My account and proof before change, no JavaScript',
  { timeout: 120_000 },
  () => {
    let server: E2eServer;
    let running: RunningServer;
    let browser: Browser;
    const contexts: BrowserContext[] = [];

    beforeAll(async () => {
      server = await startE2eServer({ RATE_LIMIT_SIGNIN_MAX: '1000' });
      running = server.running;
      browser = await launchBrowser();
      // Signing in from here skips the second step, so the session has no recent proof.
      await running.services.settings.write('trustedIps', ['127.0.0.1', '::1']);
      await running.services.settings.write('allowBypass', true);
    });

    afterEach(async () => {
      await Promise.all(contexts.splice(0).map((context) => context.close()));
    });

    afterAll(async () => {
      await browser.close();
      await server.stop();
    });

    /** A user with the mobile app already set up; returns the app's secret. */
    async function appUser(username: string): Promise<Buffer> {
      const { services } = running;
      const user = await services.users.create({
        username,
        displayName: `${username} display`,
        passwordHash: await services.accounts.hashPassword(password),
        role: 'user',
      });
      const secret = generateOtpSecret();
      await services.database.db
        .insertInto('devices')
        .values(
          newDeviceRow({
            userId: user.id,
            kind: 'app',
            name: 'Phone',
            serial: null,
            secret,
            params: appDeviceParameters,
            counter: null,
            lastStep: null,
            key: services.encryptionKey,
            now: Date.now(),
          }),
        )
        .execute();
      await services.database.db
        .updateTable('users')
        .set({ default_method: 'app', enrolled_at: Date.now() })
        .where('id', '=', user.id)
        .execute();
      return secret;
    }

    it.each(languages)(
      'in %s, the summary links to changes, and a change asks for proof first',
      async (lng: Language) => {
        const username = `summary-${lng}`;
        const secret = await appUser(username);
        const context = await newScriptlessContext(browser, server.baseUrl);
        contexts.push(context);
        const page = await context.newPage();
        const t = running.services.i18n.getFixedT(lng);
        const journey: Journey = { page, lng, t, unchecked: recordDocuments(page) };

        await page.goto(`/sign-in?lng=${lng}`);
        await page.getByLabel(t('signIn.username'), { exact: true }).fill(username);
        const passwordField = page.getByLabel(t('signIn.password'), { exact: true });
        await passwordField.fill(password);
        await pressEnter(page, passwordField);
        expect(pathOf(page)).toBe('/account');
        await expectPage(journey, { status: 200, heading: t('account.title') });
        expect(await page.locator('.summary').first().textContent()).toContain(username);

        // The bypass link: a change that needs a recent proof, which this session does not have.
        const link = page.getByRole('link', { name: t('account.summary.bypassStart') });
        await tabTo(page, link);
        await pressEnter(page, link);
        expect(pathOf(page)).toBe('/account/confirm');
        await expectPage(journey, { status: 200, heading: t('verify.app.title') });
        expect(await page.locator('.notice').textContent()).toBe(t('confirm.intro'));

        const code = page.getByLabel(t('codes.appLabel'), { exact: true });
        await code.fill('12345');
        await pressEnter(page, code);
        await expectPage(journey, { status: 400, heading: t('verify.app.title') });
        expect(await page.title()).toMatch(new RegExp(`^${t('common.errorPrefix')} `));

        await page.getByLabel(t('codes.appLabel'), { exact: true }).fill(appCode(secret));
        await pressEnter(page, page.getByRole('button', { name: t('verify.submit') }));
        expect(pathOf(page)).toBe('/account/bypass');
        await expectPage(journey, { status: 200, heading: t('bypassPage.title') });
      },
    );
  },
);
