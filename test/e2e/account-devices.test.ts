import { describe, expect, it } from 'vitest';
import { appDeviceParameters } from '../../src/core/devices.ts';
import {
  decodeBase32,
  encodeBase32,
  formatSecretForReading,
  generateOtpSecret,
  totp,
} from '../../src/core/otp.ts';
import { languages, type Language } from '../../src/i18n.ts';
import { actionLinkName } from '../helpers/link-names.ts';
import { createAppUser } from '../helpers/account.ts';
import { browserMissing } from '../helpers/browser.ts';
import {
  chooseRadio,
  expectPage,
  pathOf,
  pressEnter,
  signInWithApp,
  tabTo,
  useBrowserPortal,
  type Journey,
} from '../helpers/journey.ts';

/*
 * SPEC J3, M3, M4 in Chromium with JavaScript disabled, by keyboard: on My account a user
 * activates a second mobile app device (typing the key shown on the page into an authenticator),
 * renames and deactivates it, then associates and removes an OATH token, in English, Dutch and
 * French. Every page is checked with axe, error pages and refusals included.
 */

const password = 'correct horse battery staple';
const noBrowser = await browserMissing();

/** What the user types for each language, so that names with accents go through too. */
const names: Record<Language, { device: string; renamed: string; serial: string }> = {
  en: { device: 'Work phone', renamed: 'Old tablet', serial: 'TOKEN-EN-1' },
  nl: { device: 'Telefoon werk', renamed: 'Oude tablet', serial: 'TOKEN-NL-1' },
  fr: { device: 'Téléphone pro', renamed: 'Vieille tablette', serial: 'TOKEN-FR-1' },
};

describe.skipIf(noBrowser)(
  'Mobile app devices and OATH token on My account, no JavaScript',
  { timeout: 180_000 },
  () => {
    const portal = useBrowserPortal({ RATE_LIMIT_SIGNIN_MAX: '1000' });

    /** Signs in with password and app code: the session then holds a fresh proof. */
    async function signedInJourney(lng: Language, username: string): Promise<Journey> {
      const secret = await createAppUser(portal.services, username, password);
      const journey = await portal.openTab(lng);
      await journey.page.goto(`/sign-in?lng=${lng}`);
      await signInWithApp(journey, username, password, secret);
      return journey;
    }

    async function followLink(journey: Journey, name: string): Promise<void> {
      const link = journey.page.getByRole('link', { name, exact: true });
      await tabTo(journey.page, link);
      await pressEnter(journey.page, link);
    }

    async function expectNotice(journey: Journey, done: string): Promise<void> {
      const { page, t } = journey;
      expect(pathOf(page)).toBe(`/account?done=${done}`);
      await expectPage(journey, { status: 200, heading: t('account.title') });
      expect(await page.locator('.notice').textContent()).toBe(t(`account.done.${done}`));
    }

    async function manageDevices(journey: Journey): Promise<void> {
      const { t } = journey;
      await followLink(
        journey,
        actionLinkName(
          t,
          'account.summary.linkName',
          t('account.summary.manage'),
          t('methods.app.name'),
          journey.lng,
        ),
      );
      expect(pathOf(journey.page)).toBe('/account/devices');
      await expectPage(journey, { status: 200, heading: t('devicesPage.title') });
    }

    async function activateDevice(journey: Journey, name: string): Promise<void> {
      const { page, t } = journey;
      await manageDevices(journey);
      const nameField = page.getByLabel(t('devicesPage.nameLabel'), { exact: true });
      expect(await nameField.inputValue()).toBe(t('devicesPage.defaultName', { number: 2 }));
      await tabTo(page, nameField);
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.type(name);
      await pressEnter(page, nameField);
      expect(pathOf(page)).toBe('/account/devices/new');
      await expectPage(journey, { status: 200, heading: t('devicesPage.new.title') });

      // The user types the key from the page into their authenticator, which then shows codes.
      const shownKey = (await page.locator('code.secret').textContent()) ?? '';
      const secret = decodeBase32(shownKey);
      const code = page.getByLabel(t('codes.appLabel'), { exact: true });
      await tabTo(page, code);
      await page.keyboard.type('12345');
      await pressEnter(page, code);
      await expectPage(journey, { status: 400, heading: t('devicesPage.new.title') });
      expect(await page.title()).toMatch(new RegExp(`^${t('common.errorPrefix')} `));

      const retry = page.getByLabel(t('codes.appLabel'), { exact: true });
      await tabTo(page, retry);
      await page.keyboard.type(totp(secret, Date.now(), appDeviceParameters));
      await pressEnter(page, retry);
      await expectNotice(journey, 'deviceAdded');
    }

    async function renameDevice(journey: Journey, from: string, to: string): Promise<void> {
      const { page, t } = journey;
      await manageDevices(journey);
      // Full: the limit of 2 devices is reached, so the page says so instead of a form.
      expect(await page.locator('main').textContent()).toContain(
        t('devicesPage.limitReached', { limit: 2 }),
      );
      await followLink(
        journey,
        actionLinkName(t, 'devicesPage.renameLinkName', t('devicesPage.rename'), from, journey.lng),
      );
      await expectPage(journey, { status: 200, heading: t('devicesPage.renameTitle') });
      const nameField = page.getByLabel(t('devicesPage.newNameLabel'), { exact: true });
      await tabTo(page, nameField);
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.press('Delete');
      await pressEnter(page, nameField);
      await expectPage(journey, { status: 400, heading: t('devicesPage.renameTitle') });
      expect(await page.locator('.error-summary a').textContent()).toBe(
        t('devicesPage.errors.nameMissing'),
      );
      const again = page.getByLabel(t('devicesPage.newNameLabel'), { exact: true });
      await tabTo(page, again);
      await page.keyboard.type(to);
      await pressEnter(page, again);
      await expectNotice(journey, 'deviceRenamed');
    }

    async function deactivateDevice(journey: Journey, name: string): Promise<void> {
      const { page, t } = journey;
      await manageDevices(journey);
      await followLink(
        journey,
        actionLinkName(
          t,
          'devicesPage.deactivateLinkName',
          t('devicesPage.deactivate'),
          name,
          journey.lng,
        ),
      );
      await expectPage(journey, { status: 200, heading: t('devicesPage.removeTitle') });
      const button = page.getByRole('button', { name: t('devicesPage.removeSubmit') });
      await tabTo(page, button);
      await pressEnter(page, button);
      await expectNotice(journey, 'deviceRemoved');

      // The one device left is the only way to sign in: the page explains, with no button.
      await manageDevices(journey);
      await followLink(
        journey,
        actionLinkName(
          t,
          'devicesPage.deactivateLinkName',
          t('devicesPage.deactivate'),
          'Phone',
          journey.lng,
        ),
      );
      await expectPage(journey, { status: 200, heading: t('devicesPage.removeTitle') });
      expect(await page.locator('main').textContent()).toContain(t('devicesPage.lastMethod'));
      expect(await page.getByRole('button', { name: t('devicesPage.removeSubmit') }).count()).toBe(
        0,
      );
      await followLink(journey, t('devicesPage.back'));
      expect(pathOf(page)).toBe('/account');
    }

    async function associateAndRemoveToken(journey: Journey, serial: string): Promise<void> {
      const { page, t } = journey;
      await expectPage(journey, { status: 200, heading: t('account.title') });
      // No token yet: the link says "Add".
      await followLink(
        journey,
        actionLinkName(
          t,
          'account.summary.linkName',
          t('account.summary.add'),
          t('methods.token.name'),
          journey.lng,
        ),
      );
      expect(pathOf(page)).toBe('/account/token');
      await expectPage(journey, { status: 200, heading: t('tokenPage.title') });

      const secret = generateOtpSecret();
      const params = { algorithm: 'SHA256', digits: 8, period: 30 } as const;
      await page.getByLabel(t('setup.token.serial'), { exact: true }).fill(serial);
      const typedKey = formatSecretForReading(encodeBase32(secret)).toLowerCase();
      await page.getByLabel(t('setup.token.secret'), { exact: true }).fill(typedKey);
      await chooseRadio(page, 'otpType', 'totp');
      await chooseRadio(page, 'digits', '8');
      await chooseRadio(page, 'period', '30');
      await chooseRadio(page, 'algorithm', 'SHA256');
      const code = page.getByLabel(t('codes.tokenLabel'), { exact: true });
      await tabTo(page, code);
      await page.keyboard.type('123');
      await pressEnter(page, code);
      await expectPage(journey, { status: 400, heading: t('tokenPage.title') });
      // Nothing typed secret comes back: the key is asked for again.
      expect(await page.getByLabel(t('setup.token.secret'), { exact: true }).inputValue()).toBe('');

      await page.getByLabel(t('setup.token.secret'), { exact: true }).fill(typedKey);
      const retry = page.getByLabel(t('codes.tokenLabel'), { exact: true });
      await tabTo(page, retry);
      await page.keyboard.type(totp(secret, Date.now(), params));
      await pressEnter(page, retry);
      await expectNotice(journey, 'tokenAdded');

      await followLink(
        journey,
        actionLinkName(
          t,
          'account.summary.linkName',
          t('account.summary.manage'),
          t('methods.token.name'),
          journey.lng,
        ),
      );
      await expectPage(journey, { status: 200, heading: t('tokenPage.title') });
      expect(await page.locator('.summary').textContent()).toContain(serial);
      await followLink(journey, t('tokenPage.remove'));
      expect(pathOf(page)).toBe('/account/token/remove');
      await expectPage(journey, { status: 200, heading: t('tokenPage.removeTitle') });
      const button = page.getByRole('button', { name: t('tokenPage.removeSubmit') });
      await tabTo(page, button);
      await pressEnter(page, button);
      await expectNotice(journey, 'tokenRemoved');
    }

    it.each(languages)(
      'in %s, a user activates, renames and deactivates a device, then adds and removes a token',
      async (lng: Language) => {
        const journey = await signedInJourney(lng, `devices-${lng}`);
        const { device, renamed, serial } = names[lng];
        await activateDevice(journey, device);
        await renameDevice(journey, device, renamed);
        await deactivateDevice(journey, renamed);
        await associateAndRemoveToken(journey, serial);
      },
    );
  },
);
