import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountPassword, createAppUser, signInWithoutProof } from '../helpers/account.ts';
import { createTestPortal, csrfTokenFrom, type TestPortal } from '../helpers/app.ts';
import { cliContext } from '../helpers/context.ts';
import { startSmtpServer } from '../helpers/smtp.ts';

/*
 * SPEC A2, N2: the enrolment invitation sent from a user's page in the console, over real SMTP
 * (a server on loopback), in the user's language; and (SPEC N1) the phone providers' state on
 * the console's home page.
 */

type Agent = ReturnType<typeof supertest.agent>;

const portalUrl = 'https://mfa.example.test/MultiFactorAuth';

async function administrator(portal: TestPortal, username: string, permissions: string[]) {
  await createAppUser(portal.services, username, accountPassword);
  const user = await portal.services.users.findByUsername(username);
  if (!user) throw new Error('no user');
  for (const permission of permissions) {
    await portal.services.mfa.administration.grant(cliContext, {
      userId: user.id,
      permission,
      group: null,
    });
  }
  return { id: user.id, agent: await signInWithoutProof(portal, username) };
}

async function target(
  portal: TestPortal,
  username: string,
  email: string | null,
  language?: string,
) {
  const created = await portal.services.mfa.administration.createUser(cliContext, {
    username,
    displayName: `${username} Test`,
    email,
    password: accountPassword,
    role: 'user',
  });
  if (created.outcome !== 'created') throw new Error('not created');
  if (language) {
    await portal.services.mfa.administration.editUser(cliContext, {
      userId: created.account.id,
      language,
    });
  }
  return created.account.id;
}

async function invite(agent: Agent, userId: string, withToken = true) {
  const token = csrfTokenFrom((await agent.get(`/admin/users/${userId}`).expect(200)).text);
  return agent
    .post(`/admin/users/${userId}/invite`)
    .type('form')
    .send(withToken ? { _csrf: token } : {})
    .redirects(0);
}

const invitations = async (portal: TestPortal, userId: string) =>
  (await portal.services.mfa.administration.auditEvents(cliContext, { userId })).filter(
    (event) => event.type === 'user.invited',
  );

describe('the enrolment invitation (SPEC A2, N2)', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let portal: TestPortal;
  let root: { id: string; agent: Agent };
  let viewer: { id: string; agent: Agent };

  beforeAll(async () => {
    smtp = await startSmtpServer();
    portal = await createTestPortal({ ...smtp.config, PORTAL_URL: portalUrl });
    root = await administrator(portal, 'root', ['view-users', 'add-users']);
    viewer = await administrator(portal, 'vera', ['view-users']);
  });
  afterAll(async () => {
    await portal.close();
    await smtp.close();
  });

  it('sends it in the user’s language with the portal’s address and their username, audited', async () => {
    const lotte = await target(portal, 'lotte', 'lotte@example.test', 'nl');
    const page = await root.agent.get(`/admin/users/${lotte}`).expect(200);
    expect(page.text).toContain(`action="/admin/users/${lotte}/invite"`);

    const sent = await invite(root.agent, lotte);
    expect(sent.status).toBe(303);
    expect(sent.headers.location).toBe(`/admin/users/${lotte}?done=invited`);
    const [mail] = await smtp.waitFor(1);
    expect(mail?.to).toEqual(['lotte@example.test']);
    expect(mail?.language).toBe('nl');
    expect(mail?.subject).toBe('Verificatie in twee stappen instellen voor uw account');
    expect(mail?.text).toContain(
      `Ga naar ${portalUrl} en meld u aan met uw gebruikersnaam, lotte,`,
    );
    expect(mail?.text).not.toMatch(/\b(the|your|sign in)\b/i);

    const after = await root.agent.get(sent.headers.location ?? '').expect(200);
    expect(after.text).toContain('The invitation is sent.');
    expect(await invitations(portal, lotte)).toMatchObject([{ adminId: root.id }]);
  });

  it('writes French for a French user, with no English inside', async () => {
    const amelie = await target(portal, 'amelie', 'amelie@example.test', 'fr');
    const before = smtp.received.length;
    expect((await invite(root.agent, amelie)).status).toBe(303);
    const mail = (await smtp.waitFor(before + 1))[before];
    expect(mail?.subject).toBe('Configurer la vérification en deux étapes de votre compte');
    expect(mail?.text).toContain('Bonjour amelie Test,');
    expect(mail?.text).toContain(portalUrl);
    expect(mail?.text).not.toMatch(/\b(the|your|sign in)\b/i);
  });

  it('is refused with a 403 to an administrator without "add users", sending nothing', async () => {
    const henk = await target(portal, 'henk', 'henk@example.test');
    const page = await viewer.agent.get(`/admin/users/${henk}`).expect(200);
    expect(page.text).not.toContain('/invite"');
    const before = smtp.received.length;
    const refused = await invite(viewer.agent, henk);
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('You do not have access to this page');
    expect(await invitations(portal, henk)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(smtp.received.length).toBe(before);
  });

  it('is refused without the form’s CSRF token', async () => {
    const piet = await target(portal, 'piet', 'piet@example.test');
    const refused = await invite(root.agent, piet, false);
    expect(refused.status).toBe(403);
    expect(await invitations(portal, piet)).toEqual([]);
  });

  it('says so when the user has no email address, and records nothing', async () => {
    const nomail = await target(portal, 'nomail', null);
    const refused = await invite(root.agent, nomail);
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('This user has no email address: add one first.');
    expect(await invitations(portal, nomail)).toEqual([]);
  });
});

describe('the invitation without email or without the portal’s address', () => {
  it('says that email is not set up', async () => {
    const portal = await createTestPortal();
    try {
      const root = await administrator(portal, 'root', ['view-users', 'add-users']);
      const user = await target(portal, 'lotte', 'lotte@example.test');
      const refused = await invite(root.agent, user);
      expect(refused.status).toBe(409);
      expect(refused.text).toContain('Email is not set up (SMTP_HOST)');
      expect(await invitations(portal, user)).toEqual([]);
    } finally {
      await portal.close();
    }
  });

  it('says that PORTAL_URL is missing, sending nothing', async () => {
    const smtp = await startSmtpServer();
    const portal = await createTestPortal(smtp.config);
    try {
      const root = await administrator(portal, 'root', ['view-users', 'add-users']);
      const user = await target(portal, 'lotte', 'lotte@example.test');
      const refused = await invite(root.agent, user);
      expect(refused.status).toBe(409);
      expect(refused.text).toContain('(PORTAL_URL)');
      expect(smtp.received).toEqual([]);
    } finally {
      await portal.close();
      await smtp.close();
    }
  });

  it('tells the administrator when the mail server does not take it', async () => {
    const smtp = await startSmtpServer();
    const portal = await createTestPortal({ ...smtp.config, PORTAL_URL: portalUrl });
    try {
      const root = await administrator(portal, 'root', ['view-users', 'add-users']);
      const user = await target(portal, 'lotte', 'lotte@example.test');
      await smtp.close();
      const failed = await invite(root.agent, user);
      expect(failed.status).toBe(503);
      expect(failed.text).toContain('The mail server did not accept the invitation.');
      expect(await invitations(portal, user)).toEqual([]);
    } finally {
      await portal.close();
    }
  });
});

describe('the phone providers on the console’s home page (SPEC N1)', () => {
  it('shows each channel’s provider and state to an administrator with "view reports" only', async () => {
    const portal = await createTestPortal({ SIMULATOR_ENABLED: 'true' });
    try {
      const reporter = await administrator(portal, 'rita', ['view-reports']);
      const other = await administrator(portal, 'otto', ['view-users']);
      const home = await reporter.agent.get('/admin').expect(200);
      expect(home.text).toContain('Phone calls and text messages');
      expect(home.text).toContain('Phone calls: development simulator, working');
      expect(home.text).toContain('Text messages: development simulator, working');
      const dutch = await reporter.agent.get('/admin?lng=nl').expect(200);
      expect(dutch.text).toContain('Telefoongesprekken: ontwikkelsimulator, werkt');
      const without = await other.agent.get('/admin').expect(200);
      expect(without.text).not.toContain('Phone calls and text messages');
    } finally {
      await portal.close();
    }
  });
});
