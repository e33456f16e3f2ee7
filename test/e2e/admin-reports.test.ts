import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { adminPermissions } from '../../src/core/administrators.ts';
import { cliContext } from '../../src/core/context.ts';
import { parseCsv } from '../../src/core/csv.ts';
import { auditPageSize } from '../../src/core/service/reports.ts';
import { languages } from '../../src/i18n.ts';
import { enrolWithApp } from '../helpers/account.ts';
import { browserMissing } from '../helpers/browser.ts';
import {
  expectErrorSummary,
  expectPage,
  openSignInPage,
  pathOf,
  pressEnter,
  signInWithApp,
  tabTo,
  useBrowserPortal,
  type Journey,
} from '../helpers/journey.ts';

/*
 * SPEC A4, L1, L2 in Chromium with JavaScript disabled, by keyboard, in each language: an
 * administrator opens the reports from /admin, corrects a filter whose dates are the wrong way
 * round, pages to older records and downloads the filter's CSV. Every page is checked with axe,
 * at 320 px and for weight, as every page of the portal is.
 */

const password = 'correct horse battery staple';

const noBrowser = await browserMissing();

describe.skipIf(noBrowser)('Reports and audit trail, no JavaScript', { timeout: 120_000 }, () => {
  const portal = useBrowserPortal({ RATE_LIMIT_SIGNIN_MAX: '1000' });

  async function follow(journey: Journey, name: string, heading: string, status = 200) {
    const { page } = journey;
    const link = page.getByRole('link', { name, exact: true });
    await tabTo(page, link);
    await pressEnter(page, link);
    await expectPage(journey, { status, heading });
  }

  it.each(languages)('in %s, filters the audit trail, pages and exports it', async (lng) => {
    const { administration } = portal.services.mfa;
    const adminName = `reports-${lng}`;
    const { secret, user: admin } = await enrolWithApp(portal.services, adminName, password, {
      language: lng,
    });
    for (const permission of adminPermissions) {
      await administration.grant(cliContext, { userId: admin.id, permission, group: null });
    }
    // A user with a page and a half of records, as full as records get.
    const username = `audited-${lng}`;
    const created = await administration.createUser(cliContext, {
      username,
      displayName: 'Audited Person With A Long Name',
      email: `${username}@example.org`,
      password,
      role: 'user',
      group: 'sales',
    });
    const userId = created.outcome === 'created' ? created.account.id : '';
    const day = Date.UTC(2026, 10, 10, 9);
    for (let i = 0; i < auditPageSize + 5; i++) {
      await portal.services.audit.record(
        {
          type: i % 2 ? 'sign-in.second-step' : 'change.phone',
          result: i % 3 ? 'success' : 'failure',
          reason: i % 3 ? null : 'wrong-code',
          user_id: userId,
          username,
          display_name: 'Audited Person With A Long Name',
          email: `${username}@example.org`,
          phone: '+31 ••• 78',
          device: 'Pixel 8 of Audited Person',
          method: i % 2 ? 'app' : 'phone',
          client_ip: '2001:db8:85a3::8a2e:370:7334',
          admin_id: i % 2 ? null : admin.id,
        },
        day + i * 60_000,
      );
    }

    const journey = await openSignInPage(portal, lng);
    const { page, t } = journey;
    await signInWithApp(journey, adminName, password, secret);
    await page.goto('/admin');
    await expectPage(journey, { status: 200, heading: t('admin.title') });
    await follow(journey, t('adminReports.link'), t('adminReports.title'));
    expect(pathOf(page)).toBe('/admin/reports');

    await page.getByLabel(t('adminReports.filter.username'), { exact: true }).fill(username);
    await page.getByLabel(t('adminReports.filter.from'), { exact: true }).fill('2026-11-11');
    await page.getByLabel(t('adminReports.filter.until'), { exact: true }).fill('2026-11-10');
    const submit = page.getByRole('button', { name: t('adminReports.filter.submit') });
    await tabTo(page, submit);
    await pressEnter(page, submit);
    await expectPage(journey, { status: 400, heading: t('adminReports.title') });
    await expectErrorSummary(journey, [t('adminReports.filter.errors.order')]);

    await page.getByLabel(t('adminReports.filter.from'), { exact: true }).fill('2026-11-10');
    await tabTo(page, submit);
    await pressEnter(page, submit);
    await expectPage(journey, { status: 200, heading: t('adminReports.title') });
    expect(await page.locator('tbody tr').count()).toBe(auditPageSize);

    await follow(journey, t('adminReports.records.older'), t('adminReports.title'));
    expect(await page.locator('tbody tr').count()).toBe(5);
    expect(pathOf(page)).toContain('before=');

    const exportLink = page.getByRole('link', { name: t('adminReports.filter.export') });
    await tabTo(page, exportLink);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      exportLink.press('Enter'),
    ]);
    const csv = parseCsv(await readFile(await download.path(), 'utf8'));
    expect(csv[0]?.fields[0]).toBe(t('adminReports.csv.id'));
    // The export is the filter's, every page of it: the user's creation is on another day.
    expect(csv).toHaveLength(auditPageSize + 5 + 1);
  });
});
