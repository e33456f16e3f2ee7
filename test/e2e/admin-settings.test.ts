import { describe, expect, it } from 'vitest';
import { adminPermissions } from '../../src/core/administrators.ts';
import { cliContext } from '../../src/core/context.ts';
import { settingGroups } from '../../src/core/service/settings-admin.ts';
import { languages } from '../../src/i18n.ts';
import { enrolWithApp } from '../helpers/account.ts';
import { browserMissing } from '../helpers/browser.ts';
import { actionLinkPattern } from '../helpers/link-names.ts';
import {
  expectErrorSummary,
  expectPage,
  followLink,
  openSignInPage,
  pathOf,
  pressButton,
  pressEnter,
  signInWithApp,
  tabTo,
  useBrowserPortal,
  type Journey,
} from '../helpers/journey.ts';

/*
 * SPEC A3, L1, L2, P5 in Chromium with JavaScript disabled, by keyboard, in each language: an
 * administrator opens the portal settings and every group's page, corrects a value out of its
 * bounds and saves, then saves trusted IPs and tests an address. Every page is checked with
 * axe, at 320 px and 200 % zoom, for weight and for script.
 */

const password = 'correct horse battery staple';

const noBrowser = await browserMissing();

describe.skipIf(noBrowser)('Portal settings, no JavaScript', { timeout: 180_000 }, () => {
  const portal = useBrowserPortal({ RATE_LIMIT_SIGNIN_MAX: '1000' });

  const changeLink = ({ t, lng }: Journey, what: string) =>
    actionLinkPattern(t, 'account.summary.linkName', t('adminSettings.change'), what, lng);

  it.each(languages)('in %s, changes settings and trusted IPs', async (lng) => {
    const { administration } = portal.services.mfa;
    const username = `settings-admin-${lng}`;
    const { secret, user } = await enrolWithApp(portal.services, username, password, {
      language: lng,
    });
    for (const permission of adminPermissions) {
      await administration.grant(cliContext, { userId: user.id, permission, group: null });
    }
    const journey = await openSignInPage(portal, lng);
    const { page, t } = journey;
    await signInWithApp(journey, username, password, secret);
    await followLink(journey, {
      name: t('admin.title'),
      path: '/admin',
      heading: t('admin.title'),
    });
    const title = t('adminSettings.title');
    await followLink(journey, { name: title, path: '/admin/settings', heading: title });

    for (const group of settingGroups) {
      const heading = t(`adminSettings.groups.${group.id}`);
      await page.goto(`/admin/settings/${group.id}`);
      await expectPage(journey, { status: 200, heading });
    }

    await page.goto('/admin/settings');
    await expectPage(journey, { status: 200, heading: title });
    const lockout = t('adminSettings.groups.lockout');
    await followLink(journey, {
      name: changeLink(journey, lockout),
      path: '/admin/settings/lockout',
      heading: lockout,
    });
    const threshold = page.getByLabel(t('adminSettings.fields.lockoutThreshold.label'), {
      exact: true,
    });
    await tabTo(page, threshold);
    await page.keyboard.press('Control+A');
    await page.keyboard.type('0');
    await pressButton(journey, t('adminSettings.save'));
    await expectPage(journey, { status: 400, heading: lockout });
    const label = t('adminSettings.fields.lockoutThreshold.label');
    await expectErrorSummary(journey, [
      t('adminSettings.errors.whole', { label, min: 1, max: 100 }),
    ]);
    expect(await threshold.inputValue()).toBe('0');
    await tabTo(page, threshold);
    await page.keyboard.press('Control+A');
    // The portal serves every language in turn: each saves a value of its own.
    const saved = 4 + 2 * languages.indexOf(lng);
    await page.keyboard.type(String(saved));
    await pressButton(journey, t('adminSettings.save'));
    expect(pathOf(page)).toBe('/admin/settings?done=saved');
    await expectPage(journey, { status: 200, heading: title });
    expect(await page.getByRole('status').textContent()).toBe(t('adminSettings.done.saved'));
    expect((await portal.services.settings.read()).lockoutThreshold).toBe(saved);

    const trusted = t('adminSettings.trustedIps.title');
    await followLink(journey, {
      name: changeLink(journey, trusted),
      path: '/admin/settings/trusted-ips',
      heading: trusted,
    });
    const list = page.getByLabel(t('adminSettings.trustedIps.list'), { exact: true });
    await tabTo(page, list);
    await page.keyboard.press('Control+A');
    await page.keyboard.type('10.0.0.0/8');
    await page.keyboard.press('Enter');
    await page.keyboard.type('2001:db8::/32');
    await pressButton(journey, t('adminSettings.save'));
    expect(pathOf(page)).toBe('/admin/settings/trusted-ips?done=saved');
    await expectPage(journey, { status: 200, heading: trusted });
    expect((await portal.services.settings.read()).trustedIps).toEqual([
      '10.0.0.0/8',
      '2001:db8::/32',
    ]);

    const address = page.getByLabel(t('adminSettings.trustedIps.address'), { exact: true });
    await tabTo(page, address);
    await page.keyboard.type('2001:db8::7');
    await pressEnter(page, address);
    expect(pathOf(page)).toBe('/admin/settings/trusted-ips?address=2001%3Adb8%3A%3A7');
    await expectPage(journey, { status: 200, heading: trusted });
    expect(await page.getByRole('status').textContent()).toBe(
      t('adminSettings.trustedIps.result.trusted', { address: '2001:db8::7' }),
    );
  });
});
