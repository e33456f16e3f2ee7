import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { languages, type Language } from '../../src/i18n.ts';
import { accountOf } from '../helpers/account.ts';
import { createTestPortal, type TestPortal, changeSettings, createUser } from '../helpers/app.ts';
import { browserMissing } from '../helpers/browser.ts';
import {
  expectPage,
  openSignInPage,
  pathOf,
  pressEnter,
  submitSignIn,
  tabTo,
  useBrowserPortal,
} from '../helpers/journey.ts';

/*
 * SPEC L1, S1, S9, S11 in Chromium with JavaScript disabled, in English, Dutch and French, each
 * page checked with axe: the two 403 pages (an expired form, a page the user cannot open), the
 * page for plain HTTP under SSL_REQUIRED, and the notice after a signed-in user switches
 * language, whose button saves it for their calls, texts and emails.
 */

const password = 'correct horse battery staple';
const noBrowser = await browserMissing();

describe.skipIf(noBrowser)(
  'Refusal pages and the language notice, no JavaScript',
  { timeout: 120_000 },
  () => {
    const portal = useBrowserPortal({ RATE_LIMIT_SIGNIN_MAX: '1000' });
    // A second portal, in process, that requires HTTPS and has no PORTAL_URL to redirect to.
    let httpsOnly: TestPortal;

    beforeAll(async () => {
      // Signing in from here is the password alone: these pages are not about the second step.
      await changeSettings(portal.services, { trustedIps: ['127.0.0.1', '::1'] });
      httpsOnly = await createTestPortal({ SSL_REQUIRED: 'true' });
    });
    afterAll(async () => {
      await httpsOnly.close();
    });

    describe.each(languages)('in %s', (lng: Language) => {
      it('a form sent without its session has expired', async () => {
        const journey = await openSignInPage(portal, lng);
        // The form's cookie is gone (the browser dropped it); the language cookie stays.
        await journey.page.context().clearCookies({ name: 'mfa.csrf' });
        await submitSignIn(journey, `nobody-${lng}`, password);
        await expectPage(journey, { status: 403, heading: journey.t('errors.formExpired.title') });
      });

      it('a forbidden address is a page the user cannot open', async () => {
        const journey = await portal.openTab(lng);
        await journey.page.goto(`/assets/..%2F..%2Fconfig%2Fdefault.json?lng=${lng}`);
        await expectPage(journey, { status: 403, heading: journey.t('errors.forbidden.title') });
      });

      it('plain HTTP under SSL_REQUIRED without PORTAL_URL gets a page that says HTTPS only', async () => {
        // That portal refuses its stylesheet over plain HTTP too (a browser would fetch it over
        // HTTPS, the CSP says upgrade-insecure-requests), so its page is shown here, at an address
        // of the plain-HTTP portal, exactly as it was sent.
        const sent = await supertest(httpsOnly.app)
          .get('/sign-in')
          .set('Accept-Language', lng)
          .expect(403);
        const journey = await portal.openTab(lng);
        const address = `${portal.server.baseUrl}/sign-in?https-only`;
        await journey.page.route(address, (route) =>
          route.fulfill({
            status: sent.status,
            headers: {
              'content-type': String(sent.headers['content-type']),
              'content-security-policy': String(sent.headers['content-security-policy']),
            },
            body: sent.text,
          }),
        );
        await journey.page.goto(address);
        await expectPage(journey, {
          status: 403,
          heading: journey.t('errors.httpsRequired.title'),
        });
        // No link back: every page of that portal would give the same answer over plain HTTP.
        expect(await journey.page.locator('main').getByRole('link').count()).toBe(0);
      });

      it('after a switch, a signed-in user saves the language for calls, texts and emails', async () => {
        const username = `switch-${lng}`;
        await createUser(portal, username, password, 'user', username);
        const other = languages.find((language) => language !== lng) ?? 'en';
        const journey = await portal.openTab(other);
        const { page } = journey;
        await page.goto(`/sign-in?lng=${other}`);
        await submitSignIn(journey, username, password);
        expect(pathOf(page)).toBe('/account');
        await expectPage(journey, { status: 200, heading: journey.t('account.title') });

        const switchLink = page.getByRole('link', { name: languageNames[lng], exact: true });
        await tabTo(page, switchLink);
        journey.lng = lng;
        journey.t = portal.services.i18n.getFixedT(lng);
        await pressEnter(page, switchLink);
        expect(pathOf(page)).toBe(`/account?lng=${lng}`);
        await expectPage(journey, { status: 200, heading: journey.t('account.title') });
        expect(await page.locator('.language-offer p').textContent()).toBe(
          journey.t('common.languageOffer.text'),
        );
        // The first sign-in kept the sign-in page's language; the switch saved nothing.
        expect((await accountOf(portal.services, username)).language).toBe(other);

        const save = page.getByRole('button', {
          name: journey.t('common.languageOffer.button'),
          exact: true,
        });
        await tabTo(page, save);
        await pressEnter(page, save);
        expect(pathOf(page)).toBe('/account');
        await expectPage(journey, { status: 200, heading: journey.t('account.title') });
        expect(await page.locator('.language-offer').count()).toBe(0);
        expect((await accountOf(portal.services, username)).language).toBe(lng);
      });
    });
  },
);

const languageNames: Record<Language, string> = { en: 'English', nl: 'Nederlands', fr: 'Français' };
