import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notAllowedHeading, sendAdminForm, signedInAdministrator } from '../helpers/admin.ts';
import { createTestPortal, type TestPortal } from '../helpers/app.ts';
import { cliContext } from '../helpers/context.ts';
import { startSmtpServer } from '../helpers/smtp.ts';

/*
 * SPEC N2, A3: email in the console. The test message goes through the configured SMTP server
 * (a real one on loopback); a stored wording is what users get; a wording that does not render
 * is refused with the reason; only "manage settings" for every group reaches the page.
 */

type Agent = ReturnType<typeof supertest.agent>;

const portalUrl = 'https://mfa.example.test/MultiFactorAuth';
const factorChangedNl = '/admin/email/templates/factorChanged/nl';

describe('email in the admin console (SPEC N2, A3)', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let portal: TestPortal;
  let root: { id: string; agent: Agent };
  let scoped: { id: string; agent: Agent };

  const stored = () =>
    portal.services.database.db.selectFrom('email_templates').selectAll().execute();
  const auditOf = (type: string) =>
    portal.services.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('type', '=', type)
      .execute();

  beforeAll(async () => {
    smtp = await startSmtpServer();
    portal = await createTestPortal({ ...smtp.config, PORTAL_URL: portalUrl });
    root = await signedInAdministrator(portal, 'root', [['manage-settings', null]]);
    scoped = await signedInAdministrator(portal, 'sales-admin', [
      ['manage-settings', 'sales'],
      ['view-users', null],
    ]);
  });
  afterAll(async () => {
    await portal.close();
    await smtp.close();
  });

  it('shows SMTP read-only and sends a test message that arrives, audited', async () => {
    const page = await root.agent.get('/admin/email').expect(200);
    expect(page.text).toContain(`${portal.config.SMTP_HOST}:${portal.config.SMTP_PORT}`);
    expect(page.text).not.toContain('name="host"');

    const before = smtp.received.length;
    const sent = await sendAdminForm(
      root.agent,
      '/admin/email/test',
      { to: 'ops@example.test' },
      303,
    );
    expect(sent.headers.location).toBe('/admin/email?done=sent');
    const mail = (await smtp.waitFor(before + 1))[before];
    expect(mail?.to).toEqual(['ops@example.test']);
    expect(mail?.subject).toBe('Test message from MFA Portal');
    expect(await auditOf('email.test')).toMatchObject([
      { result: 'success', admin_id: root.id, reason: 'to ops@example.test' },
    ]);

    const wrong = await sendAdminForm(
      root.agent,
      '/admin/email/test',
      { to: 'not an address' },
      400,
    );
    expect(wrong.text).toContain('Enter an email address');
    expect(wrong.text).toContain('value="not an address"');
  });

  it('refuses a wording that does not render, with the reason, and stores nothing', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ subject: 'Hallo {naam}', body: 'Tekst' }, '{naam} is not a placeholder of this message'],
      [{ subject: 'Let op', body: 'Nieuw: {what' }, 'Use braces only around a placeholder'],
      [
        { subject: 'Let op', body: '{#portal_url}Kijk op {portal_url}' },
        'opens a part that is never closed',
      ],
      [{ subject: ' ', body: 'Tekst' }, 'Enter a subject'],
      [
        { subject: 'Uw pincode', body: 'Pincode: {pin}' },
        '{pin} is not a placeholder of this message',
      ],
    ];
    for (const [fields, reason] of cases) {
      for (const action of ['save', 'preview']) {
        const refused = await sendAdminForm(
          root.agent,
          factorChangedNl,
          { ...fields, action },
          400,
        );
        expect(refused.text, `${action} ${JSON.stringify(fields)}`).toContain(reason);
      }
    }
    expect(await stored()).toEqual([]);
    expect(await auditOf('email.template.saved')).toEqual([]);
  });

  it('previews a wording with example values and saves nothing', async () => {
    const preview = await sendAdminForm(
      root.agent,
      factorChangedNl,
      {
        subject: 'Wijziging voor {username}',
        body: 'Beste {name}, {what} is gewijzigd.',
        action: 'preview',
      },
      200,
    );
    expect(preview.text).toContain('Wijziging voor ajansen');
    expect(preview.text).toContain('Beste Alex Jansen, mobiele app is gewijzigd.');
    expect(await stored()).toEqual([]);
  });

  it('sends a user’s notice with the stored wording of their language', async () => {
    const shipped = await root.agent.get(factorChangedNl).expect(200);
    expect(shipped.text).toContain('Beveiligingsmelding');
    const body =
      'Beste {name},\n\nUw {what} is gewijzigd op {when}.{#portal_url}\nZie {portal_url}{/portal_url}';
    await sendAdminForm(
      root.agent,
      factorChangedNl,
      { subject: 'Gewijzigd voor {username}', body, action: 'save' },
      303,
    );
    expect(await stored()).toMatchObject([
      {
        kind: 'factorChanged',
        language: 'nl',
        subject: 'Gewijzigd voor {username}',
        updated_by: root.id,
      },
    ]);
    expect(await auditOf('email.template.saved')).toMatchObject([{ admin_id: root.id }]);

    const { administration } = portal.services.mfa;
    const created = await administration.createUser(cliContext, {
      username: 'lotte',
      displayName: 'Lotte de Vries',
      email: 'lotte@example.test',
      password: 'correct horse battery',
      role: 'user',
    });
    if (created.outcome !== 'created') throw new Error('not created');
    await administration.editUser(cliContext, { userId: created.account.id, language: 'nl' });
    const before = smtp.received.length;
    await administration.resetPin(cliContext, {
      userId: created.account.id,
      generate: false,
      pin: '583920',
      pinConfirmation: '583920',
    });
    const mail = (await smtp.waitFor(before + 1))[before];
    expect(mail?.subject).toBe('Gewijzigd voor lotte');
    expect(mail?.text.replace(/\r\n/g, '\n')).toMatch(
      /^Beste Lotte de Vries,\n\nUw pincode is gewijzigd op .+\.\nZie https:\/\/mfa\.example\.test\/MultiFactorAuth\s*$/,
    );

    // An English user still gets the shipped text: the wording is per language.
    const english = await administration.createUser(cliContext, {
      username: 'liam',
      displayName: 'Liam',
      email: 'liam@example.test',
      password: 'correct horse battery',
      role: 'user',
    });
    if (english.outcome !== 'created') throw new Error('not created');
    await administration.editUser(cliContext, { userId: english.account.id, language: 'en' });
    const next = smtp.received.length;
    await administration.resetPin(cliContext, {
      userId: english.account.id,
      generate: false,
      pin: '583920',
      pinConfirmation: '583920',
    });
    const shippedMail = (await smtp.waitFor(next + 1))[next];
    expect(shippedMail?.subject).toBe('Security notice: your sign-in details changed');

    await sendAdminForm(
      root.agent,
      factorChangedNl,
      { subject: '', body: '', action: 'reset' },
      303,
    );
    expect(await stored()).toEqual([]);
    expect(await auditOf('email.template.reset')).toMatchObject([{ admin_id: root.id }]);
  });

  it('gives the localised 403 to an administrator without "manage settings" for every group', async () => {
    const page = await scoped.agent.get('/admin/email').expect(403);
    expect(page.text).toContain(notAllowedHeading);
    await scoped.agent.get(factorChangedNl).expect(403);
    const before = smtp.received.length;
    await sendAdminForm(scoped.agent, '/admin/email/test', { to: 'ops@example.test' }, 403);
    await sendAdminForm(
      scoped.agent,
      factorChangedNl,
      { subject: 'Hallo', body: 'Tekst', action: 'save' },
      403,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(smtp.received.length).toBe(before);
    expect(await stored()).toEqual([]);
    expect(await auditOf('email.test')).toHaveLength(1);
  });
  it('sends an administrator at most 10 test messages an hour: the console is no mail relay', async () => {
    const mailer = await signedInAdministrator(portal, 'mailer', [['manage-settings', null]]);
    const before = smtp.received.length;
    for (let i = 0; i < 10; i += 1) {
      await sendAdminForm(mailer.agent, '/admin/email/test', { to: `r${i}@example.test` }, 303);
    }
    await smtp.waitFor(before + 10);
    const refused = await sendAdminForm(mailer.agent, '/admin/email/test', {
      to: 'v@example.test',
    });
    expect(refused.status).toBe(429);
    expect(refused.text).toContain('you have sent the most allowed in an hour');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(smtp.received.length).toBe(before + 10);
    const audited = (await auditOf('email.test')).filter((e) => e.admin_id === mailer.id);
    expect(audited).toHaveLength(10);
  });
});
