import type { Locator, Page } from 'playwright-core';
import { beforeEach, describe, expect, it } from 'vitest';
import { decodeBase32 } from '../../src/core/otp.ts';
import { languages, type Language } from '../../src/i18n.ts';
import { browserMissing, reflowViewports } from '../helpers/browser.ts';
import {
  chooseRadio,
  expectPage,
  openSignInPage,
  pathOf,
  pressEnter,
  submitSignIn,
  tabTo,
  useBrowserPortal,
  type Journey,
} from '../helpers/journey.ts';
import { actionLinkName } from '../helpers/link-names.ts';
import { appCode } from '../helpers/two-step.ts';

/*
 * WCAG 2.5.8 and 2.4.7 on a phone 320 CSS px wide, in English, Dutch and French, with JavaScript
 * disabled: every small target the review measured is at least 24 px tall, a secondary action
 * under a form's main button ("Generate a new activation code", "Send a new code") sits clear of
 * it, so that a slip does not throw away the key just scanned or the code just texted, and the
 * activity table's scrolling region shows the portal's own focus ring.
 */

const password = 'correct horse battery staple';
const phoneWidth = reflowViewports[0];
/** WCAG 2.5.8's minimum target size, in CSS px. */
const minimumTarget = 24;
/** Between a main button and the secondary action under it: 1.5rem. */
const clearGap = 24;

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

async function boxOf(target: Locator): Promise<Box> {
  const box = await target.boundingBox();
  if (!box) throw new Error(`${target.toString()} is not shown`);
  return box;
}

function overlap(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/**
 * Each target is at least 24 px tall and wide, none overlaps another, and each is wholly within
 * the area, which for a table is its region: no target is half hidden until the table scrolls.
 */
async function expectTargets(targets: Locator, area: Locator, what: string): Promise<void> {
  const all = await targets.all();
  expect(all.length, `${what}: how many`).toBeGreaterThan(0);
  const areaBox = await boxOf(area);
  const boxes: Box[] = [];
  for (const target of all) {
    const name = `${what}: "${(await target.textContent()) ?? ''}"`;
    const box = await boxOf(target);
    expect.soft(box.height, `height of ${name}`).toBeGreaterThanOrEqual(minimumTarget);
    expect.soft(box.width, `width of ${name}`).toBeGreaterThanOrEqual(minimumTarget);
    expect.soft(box.x, `left edge of ${name}`).toBeGreaterThanOrEqual(areaBox.x);
    expect
      .soft(box.x + box.width, `right edge of ${name}`)
      .toBeLessThanOrEqual(areaBox.x + areaBox.width);
    for (const other of boxes) expect.soft(overlap(box, other), `${name} overlaps`).toBe(false);
    boxes.push(box);
  }
}

/** The secondary action is a full target, a clear gap below the main button. */
async function expectClearOf(main: Locator, secondary: Locator, what: string): Promise<void> {
  const mainBox = await boxOf(main);
  const secondaryBox = await boxOf(secondary);
  expect.soft(secondaryBox.height, `height of ${what}`).toBeGreaterThanOrEqual(minimumTarget);
  const gap = secondaryBox.y - (mainBox.y + mainBox.height);
  expect.soft(gap, `gap between the main button and ${what}`).toBeGreaterThanOrEqual(clearGap);
}

function button(page: Page, name: string): Locator {
  return page.getByRole('button', { name, exact: true });
}

const noBrowser = await browserMissing();

describe.skipIf(noBrowser)(
  'Tap targets and focus at 320 px, no JavaScript',
  { timeout: 120_000 },
  () => {
    const portal = useBrowserPortal({ SIMULATOR_ENABLED: 'true', RATE_LIMIT_SIGNIN_MAX: '1000' });

    beforeEach(async () => {
      // The journeys are about targets; security questions have journeys of their own.
      await portal.services.settings.write('useSecurityQuestions', false);
    });

    /** A fresh user with no method yet, on a phone-sized tab, signed in as far as User Setup. */
    async function startSetup(username: string, lng: Language): Promise<Journey> {
      await portal.services.users.create({
        username,
        displayName: username,
        passwordHash: await portal.services.accounts.hashPassword(password),
        role: 'user',
      });
      const journey = await openSignInPage(portal, lng);
      await journey.page.setViewportSize(phoneWidth);
      await submitSignIn(journey, username, password);
      expect(pathOf(journey.page)).toBe('/setup');
      await expectPage(journey, { status: 200, heading: journey.t('setup.choose.title') });
      return journey;
    }

    async function chooseMethod({ page, t }: Journey, method: 'app' | 'sms'): Promise<void> {
      await chooseRadio(page, 'method', method);
      await pressEnter(page, button(page, t('common.continue')));
      expect(pathOf(page)).toBe(`/setup/${method}`);
    }

    /** Types the code of the key shown on the page into the app field and submits it. */
    async function proveShownKey({ page, t }: Journey): Promise<void> {
      const secret = decodeBase32((await page.locator('code.secret').textContent()) ?? '');
      const field = page.getByLabel(t('codes.appLabel'), { exact: true });
      await field.fill(appCode(secret));
      await pressEnter(page, field);
    }

    it.each(languages)(
      'in %s, set-up, My account and its devices have full-size targets and a clear gap',
      async (lng: Language) => {
        const journey = await startSetup(`targets-${lng}`, lng);
        const { page, t } = journey;
        await chooseMethod(journey, 'app');
        await pressEnter(page, button(page, t('setup.app.generate')));
        await expectPage(journey, { status: 200, heading: t('setup.app.title') });
        await expectClearOf(
          button(page, t('setup.app.authenticate')),
          button(page, t('setup.app.regenerate')),
          `"${t('setup.app.regenerate')}" on /setup/app`,
        );

        await proveShownKey(journey);
        expect(pathOf(page)).toBe('/account?enrolled');
        await expectPage(journey, { status: 200, heading: t('account.title') });
        await expectTargets(
          page.locator('.site-header :is(a, button)'),
          page.locator('header'),
          'header',
        );
        await expectTargets(page.locator('.summary-action a'), page.locator('main'), 'My account');

        // The sign-in is on the activity table, whose region scrolls by keyboard at this width.
        const region = page.getByRole('region', { name: t('account.activity.title') });
        await tabTo(page, region);
        const ring = await page.evaluate<string>(
          `(() => {
            const style = getComputedStyle(document.activeElement);
            return [style.outlineStyle, style.outlineWidth, style.outlineColor, style.boxShadow].join(' ');
          })()`,
        );
        expect(ring, 'focus ring of the activity region').toBe(
          'solid 3px rgb(255, 221, 0) rgb(11, 12, 12) 0px 0px 0px 6px',
        );

        const manage = actionLinkName(
          t,
          'account.summary.linkName',
          t('account.summary.manage'),
          t('methods.app.name'),
          lng,
        );
        await pressEnter(page, page.getByRole('link', { name: manage, exact: true }));
        await expectPage(journey, { status: 200, heading: t('devicesPage.title') });
        await pressEnter(page, button(page, t('setup.app.generate')));
        expect(pathOf(page)).toBe('/account/devices/new');
        await expectPage(journey, { status: 200, heading: t('devicesPage.new.title') });
        await expectClearOf(
          button(page, t('devicesPage.new.activate')),
          button(page, t('setup.app.regenerate')),
          `"${t('setup.app.regenerate')}" on /account/devices/new`,
        );

        await proveShownKey(journey);
        expect(pathOf(page)).toBe('/account?done=deviceAdded');
        await pressEnter(page, page.getByRole('link', { name: manage, exact: true }));
        await expectPage(journey, { status: 200, heading: t('devicesPage.title') });
        const table = page.getByRole('region', { name: t('devicesPage.caption') });
        await expectTargets(table.locator('td a'), table, 'devices table');
      },
    );

    it.each(languages)(
      'in %s, "Send a new code" sits clear of the button of the text-code page',
      async (lng: Language) => {
        const journey = await startSetup(`texts-${lng}`, lng);
        const { page, t } = journey;
        await chooseMethod(journey, 'sms');
        const mobile = page.getByRole('group', { name: t('setup.sms.mobile'), exact: true });
        await mobile.getByLabel(t('phone.country'), { exact: true }).selectOption('NL');
        await mobile.getByLabel(t('phone.number'), { exact: true }).fill('06 12345678');
        await pressEnter(page, button(page, t('setup.sms.submit')));
        expect(pathOf(page)).toBe('/setup/sms/code');
        await expectPage(journey, { status: 200, heading: t('codes.smsTitle') });
        await expectClearOf(
          button(page, t('verify.submit')),
          button(page, t('codes.resend')),
          `"${t('codes.resend')}" on /setup/sms/code`,
        );
      },
    );
  },
);
