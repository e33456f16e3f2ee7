import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { cliContext } from '../../src/core/context.ts';
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
import { startSmtpServer } from '../helpers/smtp.ts';

/*
 * SPEC M6, N2, L1, L2 in Chromium with JavaScript disabled, in each language: an administrator
 * with "manage settings" corrects the numbers of questions, retires a question and rewords one,
 * sends a test message over a real SMTP server, and previews and saves an email's wording after
 * a refused one. Every page is checked with axe and at 320 px by `expectPage`.
 */

const password = 'correct horse battery staple';

const noBrowser = await browserMissing();

describe.skipIf(noBrowser)('Questions and email pages, no JavaScript', { timeout: 120_000 }, () => {
  const env: Record<string, string> = { RATE_LIMIT_SIGNIN_MAX: '1000' };
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  // Before the portal starts, so that it sends through this server.
  beforeAll(async () => {
    smtp = await startSmtpServer();
    Object.assign(env, smtp.config);
  });
  afterAll(async () => {
    await smtp.close();
  });
  const portal = useBrowserPortal(env);

  async function follow(journey: Journey, name: string, path: string, heading: string) {
    const { page } = journey;
    const link = page.getByRole('link', { name, exact: true });
    await tabTo(page, link);
    await pressEnter(page, link);
    expect(pathOf(page)).toBe(path);
    await expectPage(journey, { status: 200, heading });
  }

  /** Focuses the control by keyboard reach (Tab) or, far down a long page, directly. */
  async function type(journey: Journey, label: string, text: string) {
    const field = journey.page.getByLabel(label, { exact: true });
    await field.focus();
    await field.fill('');
    await journey.page.keyboard.type(text);
    return field;
  }

  async function press(journey: Journey, name: string) {
    const button = journey.page.getByRole('button', { name, exact: true });
    await button.focus();
    await pressEnter(journey.page, button);
  }

  it.each(languages)('in %s, manages the security questions and the emails', async (lng) => {
    const { secret, user } = await enrolWithApp(portal.services, `settings-${lng}`, password, {
      language: lng,
    });
    await portal.services.mfa.administration.grant(cliContext, {
      userId: user.id,
      permission: 'manage-settings',
      group: null,
    });
    const journey = await openSignInPage(portal, lng);
    const { page, t } = journey;
    await signInWithApp(journey, `settings-${lng}`, password, secret);
    await follow(journey, t('admin.title'), '/admin', t('admin.title'));
    await follow(journey, t('adminQuestions.title'), '/admin/questions', t('adminQuestions.title'));

    // The numbers: more to answer than to enrol is refused, the values kept.
    await type(journey, t('adminQuestions.counts.toAnswer'), '9');
    await press(journey, t('adminQuestions.counts.submit'));
    await expectPage(journey, { status: 400, heading: t('adminQuestions.title') });
    await expectErrorSummary(journey, [t('adminQuestions.errors.toAnswer', { min: 1, max: 4 })]);
    await type(journey, t('adminQuestions.counts.toAnswer'), '2');
    await press(journey, t('adminQuestions.counts.submit'));
    expect(pathOf(page)).toBe('/admin/questions?done=counts');
    await expectPage(journey, { status: 200, heading: t('adminQuestions.title') });

    // Retire a question of the page's language, then reword another one.
    const [first, second] = (
      await portal.services.mfa.questionsAdmin.list(cliContext)
    ).questions.filter((q) => q.language === lng && q.active);
    const retire = page.locator(`form[action$="/${first?.id ?? ''}/retire"] button`);
    expect(await retire.textContent()).toBe(t('adminQuestions.retire'));
    const describedBy = (await retire.getAttribute('aria-describedby')) ?? '';
    expect(await page.locator(`[id="${describedBy}"]`).textContent()).toBe(first?.text);
    await retire.focus();
    await pressEnter(page, retire);
    expect(pathOf(page)).toBe(`/admin/questions?done=retired&language=${lng}`);
    await expectPage(journey, { status: 200, heading: t('adminQuestions.title') });
    expect(await page.getByRole('status').textContent()).toBe(t('adminQuestions.done.retired'));

    const edit = page.locator(`a[href$="/${second?.id ?? ''}/edit"]`);
    await edit.focus();
    await pressEnter(page, edit);
    await expectPage(journey, { status: 200, heading: t('adminQuestions.editTitle') });
    await type(journey, t('adminQuestions.add.text'), '');
    await press(journey, t('adminQuestions.save'));
    await expectPage(journey, { status: 400, heading: t('adminQuestions.editTitle') });
    await expectErrorSummary(journey, [t('adminQuestions.errors.textMissing')]);
    await type(journey, t('adminQuestions.add.text'), `${second?.text ?? ''} (${lng})`);
    await press(journey, t('adminQuestions.save'));
    expect(pathOf(page)).toBe(`/admin/questions?done=reworded&language=${lng}`);
    await expectPage(journey, { status: 200, heading: t('adminQuestions.title') });

    // Email: a test message to an address typed, after a wrong one.
    await page.goto('/admin');
    await expectPage(journey, { status: 200, heading: t('admin.title') });
    await follow(journey, t('adminEmail.title'), '/admin/email', t('adminEmail.title'));
    await type(journey, t('adminEmail.test.to'), 'ops');
    await press(journey, t('adminEmail.test.submit'));
    await expectPage(journey, { status: 400, heading: t('adminEmail.title') });
    await expectErrorSummary(journey, [t('adminEmail.errors.to')]);
    const before = smtp.received.length;
    await type(journey, t('adminEmail.test.to'), `ops-${lng}@example.test`);
    await press(journey, t('adminEmail.test.submit'));
    expect(pathOf(page)).toBe('/admin/email?done=sent');
    await expectPage(journey, { status: 200, heading: t('adminEmail.title') });
    const mail = (await smtp.waitFor(before + 1))[before];
    expect(mail?.subject).toBe(t('adminEmail.test.subject'));

    // A wording: refused with its reason, previewed, saved.
    const names = { en: 'English', nl: 'Nederlands', fr: 'Français' };
    const heading = t('adminEmail.template.title', {
      email: t('adminEmail.kinds.invitation'),
      language: names[lng],
    });
    await follow(
      journey,
      `${t('adminEmail.kinds.invitation')}, ${names[lng]}`,
      `/admin/email/templates/invitation/${lng}`,
      heading,
    );
    await type(journey, t('adminEmail.template.subject'), '{subject}');
    await press(journey, t('adminEmail.template.preview'));
    await expectPage(journey, { status: 400, heading });
    await expectErrorSummary(journey, [
      t('adminEmail.errors.unknownPlaceholder', {
        placeholder: '{subject}',
        known: '{name} {username} {portal_url} {pin}',
      }),
    ]);
    await type(journey, t('adminEmail.template.subject'), 'MFA: {username}');
    await press(journey, t('adminEmail.template.preview'));
    await expectPage(journey, { status: 200, heading });
    expect(await page.locator('.email-preview').textContent()).toContain(
      t('adminEmail.example.name'),
    );
    await press(journey, t('adminEmail.template.save'));
    expect(pathOf(page)).toBe('/admin/email?done=saved');
    await expectPage(journey, { status: 200, heading: t('adminEmail.title') });
  });
});
