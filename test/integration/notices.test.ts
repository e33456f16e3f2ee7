import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { createTestPortal, type TestPortal, changeSettings } from '../helpers/app.ts';
import { accountPassword, editUser, enrolledUser } from '../helpers/account.ts';
import { cliContext } from '../helpers/context.ts';
import { browserAgent, createUser, signIn } from '../helpers/app.ts';
import { post } from '../helpers/two-step.ts';
import { startSmtpServer } from '../helpers/smtp.ts';

/*
 * SPEC N1, N2: security notices go out over real SMTP (a server on loopback in this process) in
 * the user's language, and a mail server that is down never blocks or undoes a change.
 */

let portal: TestPortal | undefined;
let smtp: Awaited<ReturnType<typeof startSmtpServer>> | undefined;

afterEach(async () => {
  await portal?.close();
  await smtp?.close();
  portal = undefined;
  smtp = undefined;
});

describe('security notices by email (SPEC N2)', () => {
  it('tells a Dutch-speaking user, in Dutch, that a way to sign in was added at enrolment', async () => {
    smtp = await startSmtpServer();
    portal = await createTestPortal({
      ...smtp.config,
      PORTAL_URL: 'https://mfa.example.test/MultiFactorAuth',
    });
    await enrolledUser(portal, 'lotte', { email: 'lotte@example.test', language: 'nl' });
    const [mail] = await smtp.waitFor(1);
    expect(mail?.to).toEqual(['lotte@example.test']);
    expect(mail?.from).toBe('mfa@example.test');
    expect(mail?.language).toBe('nl');
    expect(mail?.subject).toBe('Beveiligingsmelding: er is een methode aan uw account toegevoegd');
    expect(mail?.text).toContain('Beste lotte display,');
    expect(mail?.text).toContain('toegevoegd: mobiele app.');
    expect(mail?.text).toMatch(/IP-adres: 127\.0\.0\.1$/m);
    expect(mail?.text).toContain('https://mfa.example.test/MultiFactorAuth');
    expect(mail?.text).not.toMatch(/\{\{|notices\./);
  });

  it('writes French for a French-speaking user, with accents intact', async () => {
    smtp = await startSmtpServer();
    portal = await createTestPortal(smtp.config);
    await enrolledUser(portal, 'amelie', { email: 'amelie@example.test', language: 'fr' });
    const [mail] = await smtp.waitFor(1);
    expect(mail?.subject).toBe('Avis de sécurité\u00a0: une méthode a été ajoutée à votre compte');
    expect(mail?.text).toContain('Bonjour amelie display,');
    expect(mail?.text).toContain('application mobile');
  });

  it('sends nothing to a user without an email address', async () => {
    smtp = await startSmtpServer();
    portal = await createTestPortal(smtp.config);
    await enrolledUser(portal, 'noaddress');
    await expect(smtp.waitFor(1, 500)).rejects.toThrow('Expected 1 emails, got 0');
  });

  it('tells the user once, in their language, that wrong passwords locked the account', async () => {
    smtp = await startSmtpServer();
    portal = await createTestPortal(smtp.config);
    await changeSettings(portal.services, { lockoutThreshold: 3 });
    const user = await createUser(portal, 'pieter', accountPassword);
    await editUser(portal.services, user.id, { email: 'pieter@example.test', language: 'nl' });
    for (let attempt = 0; attempt < 2; attempt++) {
      expect((await signIn(browserAgent(portal), 'pieter', 'wrong guess')).status).toBe(400);
    }
    await expect(smtp.waitFor(1, 300)).rejects.toThrow('got 0');
    // The third failure locks the account; the page still says only "not correct" (SPEC S4).
    expect((await signIn(browserAgent(portal), 'pieter', 'wrong guess')).status).toBe(400);
    const [mail] = await smtp.waitFor(1);
    expect(mail?.to).toEqual(['pieter@example.test']);
    expect(mail?.subject).toBe('Beveiligingsmelding: uw account is tijdelijk geblokkeerd');
    expect(mail?.text).toContain('U kunt zich weer aanmelden na ');
    expect(mail?.text).toContain('misschien probeert iemand in uw account te komen');
    expect(mail?.text).not.toContain('iemand kent mogelijk uw wachtwoord');
    // Failures while locked do not lock it again, so they send nothing more.
    expect((await signIn(browserAgent(portal), 'pieter', 'wrong guess')).status).toBe(400);
    await expect(smtp.waitFor(2, 500)).rejects.toThrow('got 1');
    // Recorded once, for Recent activity and the helpdesk.
    const lockouts = await portal.services.mfa.administration.auditEvents(cliContext, {
      userId: user.id,
      type: 'lockout',
    });
    expect(lockouts).toMatchObject([{ result: 'info', username: 'pieter' }]);
  });

  it('writes the lockout notice in the language of the sign-in page, which the first sign-in keeps', async () => {
    smtp = await startSmtpServer();
    portal = await createTestPortal(smtp.config);
    await changeSettings(portal.services, { lockoutThreshold: 2 });
    const { user } = await enrolledUser(portal, 'camille', { email: 'camille@example.test' });
    // An account with no language yet (its User Setup kept English): the French sign-in keeps fr.
    await editUser(portal.services, user.id, { language: null });
    await smtp.waitFor(1); // "a way to sign in was added", at enrolment
    for (let attempt = 0; attempt < 2; attempt++) {
      const agent = browserAgent(portal);
      await agent.get('/sign-in?lng=fr').expect(200);
      expect((await signIn(agent, 'camille', accountPassword)).status).toBe(303);
      const page = await agent.get('/verify').expect(200);
      await post(agent, '/verify', page.text, { method: 'app', code: '000000' });
    }
    const [, mail] = await smtp.waitFor(2);
    expect(mail?.subject).toBe(
      'Avis de sécurité\u00a0: votre compte est temporairement verrouillé',
    );
    expect(mail?.text).toContain('Vous pourrez vous reconnecter à partir du ');
  });

  it('keeps the change when the mail server is down', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const address = probe.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    await new Promise<void>((resolve) =>
      probe.close(() => {
        resolve();
      }),
    );
    portal = await createTestPortal({
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(port),
      SMTP_FROM: 'mfa@example.test',
    });
    const { agent, user } = await enrolledUser(portal, 'lotte', { email: 'lotte@example.test' });
    expect(user.methods).toEqual(['app']);
    await agent.get('/account').expect(200);
  });
});

describe('SMTP configuration (SPEC C1)', () => {
  it('refuses an SMTP host without a sender, naming the key', () => {
    expect(() => loadConfig({ env: { SMTP_HOST: 'mail.example.org' } })).toThrow(
      'SMTP_FROM must name the sender when SMTP_HOST is set',
    );
  });

  it('refuses a sender that is not an address', () => {
    expect(() => loadConfig({ env: { SMTP_FROM: 'not an address' } })).toThrow(
      'Invalid configuration: SMTP_FROM must be empty or an email address',
    );
  });
});
