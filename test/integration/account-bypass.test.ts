import { dateFormat } from '../../src/core/dates.ts';
import type supertest from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  accountOf,
  accountPassword,
  enrolledUser,
  signInWithoutProof,
} from '../helpers/account.ts';
import {
  browserAgent,
  createTestPortal,
  csrfTokenFrom,
  signIn,
  type TestPortal,
  changeSettings,
} from '../helpers/app.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { post } from '../helpers/two-step.ts';
import { cliContext, userContext } from '../helpers/context.ts';

/*
 * SPEC J1, J3, M7: the one-time bypass a user starts from My account. Refused when the settings
 * forbid it, without a recent proof, and on bad seconds, each time with nothing issued; once
 * started, exactly the next sign-in within its seconds skips the second step, and the user is
 * told by email in their language.
 */

type Agent = ReturnType<typeof supertest.agent>;

let portal: TestPortal;
let smtp: Awaited<ReturnType<typeof startSmtpServer>> | undefined;

beforeEach(async () => {
  smtp = await startSmtpServer();
  portal = await createTestPortal({ ...smtp.config, RATE_LIMIT_SIGNIN_MAX: '1000' });
  await changeSettings(portal.services, { allowBypass: true });
});
afterEach(async () => {
  await portal.close();
  await smtp?.close();
  smtp = undefined;
});

/** The user's audit records of this type, as the helpdesk reads them (SPEC A4). */
async function events(type: string, username = 'lotte') {
  const { id: userId } = await accountOf(portal.services, username);
  return portal.services.mfa.administration.auditEvents(cliContext, { userId, type });
}

/** The bypass waiting for the user's next sign-in, as My account shows it, or null. */
async function pendingBypass(username = 'lotte') {
  const { id: userId } = await accountOf(portal.services, username);
  return (await portal.services.mfa.account.overview(userContext(userId), { userId })).bypass;
}

/** The helpdesk issues the user a bypass (SPEC M7). */
async function issuedByHelpdesk(userId: string, seconds = 300) {
  await portal.services.mfa.administration.issueBypass(cliContext, {
    userId,
    seconds,
    reason: 'phone lost',
  });
}

/** A form post with a valid CSRF token, for a page that itself may refuse to show. */
async function postWithToken(agent: Agent, path: string, fields: Record<string, unknown>) {
  const account = await agent.get('/account').expect(200);
  return agent
    .post(path)
    .type('form')
    .send({ _csrf: csrfTokenFrom(account.text), ...fields });
}

async function signOut(agent: Agent) {
  const signedOut = await postWithToken(agent, '/sign-out', {});
  expect(signedOut.status).toBe(303);
}

/** Where a fresh password sign-in lands: /account (bypassed) or /verify (second step). */
async function signInLandsOn(username = 'lotte') {
  const agent = browserAgent(portal);
  const signedIn = await signIn(agent, username, accountPassword);
  expect(signedIn.status).toBe(303);
  return { agent, location: signedIn.headers.location };
}

describe('starting a bypass (SPEC J3, M7)', () => {
  it('without the seconds prompt: 300 s, the next sign-in only needs the password, once', async () => {
    const { agent } = await enrolledUser(portal);
    const page = await agent.get('/account/bypass').expect(200);
    expect(page.text).toContain('<h1>One-time bypass</h1>');
    expect(page.text).toContain('Start a bypass for 5 minutes');
    expect(page.text).not.toContain('name="seconds"');
    expect(page.text).toContain('href="/account"');

    const before = Date.now();
    const started = await post(agent, '/account/bypass', page.text, {});
    expect(started.status).toBe(303);
    expect(started.headers.location).toBe('/account?done=bypassIssued');
    const row = await pendingBypass();
    expect(row?.issuedBy).toBe('user');
    expect(row?.expiresAt).toBeGreaterThanOrEqual(before + 300_000);
    expect(row?.expiresAt).toBeLessThanOrEqual(Date.now() + 300_000);
    // Audited exactly once: bypasses.issue writes the record, the notice adds none.
    expect(await events('bypass.issued')).toHaveLength(1);
    const summary = await agent.get('/account?done=bypassIssued').expect(200);
    expect(summary.text).toContain('Your next sign-in will skip the second step.');

    // The bypass changes nothing for the session it was started in; the next sign-in uses it.
    await signOut(agent);
    const bypassed = await signIn(agent, 'lotte', accountPassword);
    expect(bypassed.headers.location).toBe('/account');
    await agent.get('/account').expect(200);
    expect(await events('bypass.used')).toHaveLength(1);
    expect(await pendingBypass()).toBeNull();

    await signOut(agent);
    expect((await signInLandsOn()).location).toBe('/verify');
  });

  it('lasts the admin maximum when that is shorter than 300 s, and says so in minutes', async () => {
    await changeSettings(portal.services, { bypassMaxSeconds: 90 });
    const { agent } = await enrolledUser(portal);
    const page = await agent.get('/account/bypass').expect(200);
    expect(page.text).toContain('Start a bypass for 1.5 minutes');
    const before = Date.now();
    await post(agent, '/account/bypass', page.text, {}).expect(303);
    const expiresAt = (await pendingBypass())?.expiresAt ?? 0;
    expect(expiresAt).toBeGreaterThanOrEqual(before + 90_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 90_000);
  });

  it('with the seconds prompt: takes a whole number within the range, refuses anything else', async () => {
    await changeSettings(portal.services, { promptBypassSeconds: true });
    await changeSettings(portal.services, { bypassMaxSeconds: 1800 });
    const { agent } = await enrolledUser(portal);
    const page = await agent.get('/account/bypass').expect(200);
    expect(page.text).toMatch(
      /<input id="seconds" name="seconds" type="text" value="300" autocomplete="off" inputmode="numeric" aria-describedby="seconds-hint"/,
    );
    expect(page.text).toContain(
      'A whole number from 60 to 1800. The longest, 1800 seconds, is 30 minutes.',
    );

    const attempts: [string, string][] = [
      ['', 'Enter how many seconds the bypass should last'],
      ['   ', 'Enter how many seconds the bypass should last'],
      ['five', 'Enter the seconds as a whole number, such as 300'],
      ['12.5', 'Enter the seconds as a whole number, such as 300'],
      ['-300', 'Enter the seconds as a whole number, such as 300'],
      ['3e2', 'Enter the seconds as a whole number, such as 300'],
      ['59', 'Enter a number of seconds from 60 to 1800'],
      ['0', 'Enter a number of seconds from 60 to 1800'],
      ['1801', 'Enter a number of seconds from 60 to 1800'],
      ['86400', 'Enter a number of seconds from 60 to 1800'],
      ['9'.repeat(5000), 'Enter a number of seconds from 60 to 1800'],
    ];
    for (const [seconds, message] of attempts) {
      const refused = await post(agent, '/account/bypass', page.text, { seconds });
      expect(refused.status, seconds).toBe(400);
      expect(refused.text, seconds).toContain('class="error-summary"');
      expect(refused.text, seconds).toContain(`<a href="#seconds">${message}</a>`);
      expect(refused.text).toContain('aria-invalid="true"');
      expect(refused.text).toContain('aria-describedby="seconds-hint seconds-error"');
      expect(refused.text).toMatch(/<title>Error: /);
    }
    const slip = await post(agent, '/account/bypass', page.text, { seconds: '1801' });
    expect(slip.text).toContain('value="1801"');
    const huge = await post(agent, '/account/bypass', page.text, { seconds: '9'.repeat(5000) });
    expect(huge.text).not.toContain('9'.repeat(13));

    // Not one value: two fields of the same name, or a field our page does not have.
    const twice = await agent
      .post('/account/bypass')
      .type('form')
      .send(`_csrf=${encodeURIComponent(csrfTokenFrom(page.text))}&seconds=300&seconds=600`);
    expect(twice.status).toBe(400);
    const stranger = await post(agent, '/account/bypass', page.text, {
      seconds: '300',
      issuedBy: 'admin',
    });
    expect(stranger.status).toBe(400);
    const oversized = await post(agent, '/account/bypass', page.text, {
      seconds: '1'.repeat(20_000),
    });
    expect(oversized.status).toBe(413);
    expect(await pendingBypass()).toBeNull();
    expect(await events('bypass.issued')).toEqual([]);

    const before = Date.now();
    await post(agent, '/account/bypass', page.text, { seconds: ' 0900 ' }).expect(303);
    const expiresAt = (await pendingBypass())?.expiresAt ?? 0;
    expect(expiresAt).toBeGreaterThanOrEqual(before + 900_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 900_000);
  });

  it('offers 300 s as the default, capped at the admin maximum', async () => {
    await changeSettings(portal.services, { promptBypassSeconds: true });
    await changeSettings(portal.services, { bypassMaxSeconds: 200 });
    const { agent } = await enrolledUser(portal);
    const page = await agent.get('/account/bypass').expect(200);
    expect(page.text).toContain('name="seconds" type="text" value="200"');
    await post(agent, '/account/bypass', page.text, { seconds: '300' }).expect(400);
    await post(agent, '/account/bypass', page.text, { seconds: '200' }).expect(303);
  });

  it('refuses a seconds field when the settings do not prompt for one', async () => {
    const { agent } = await enrolledUser(portal);
    const page = await agent.get('/account/bypass').expect(200);
    const refused = await post(agent, '/account/bypass', page.text, { seconds: '3600' });
    expect(refused.status).toBe(400);
    expect(await pendingBypass()).toBeNull();
    expect(await events('bypass.issued')).toEqual([]);
  });

  it('refuses a form without its CSRF token', async () => {
    const { agent } = await enrolledUser(portal);
    const refused = await agent.post('/account/bypass').type('form').send({});
    expect(refused.status).toBe(403);
    expect(await pendingBypass()).toBeNull();
  });
});

describe('a pending bypass (SPEC J1, M7)', () => {
  it('shows until when it lasts, and once cancelled the next sign-in asks for the second step', async () => {
    const { agent } = await enrolledUser(portal);
    const start = await agent.get('/account/bypass').expect(200);
    await post(agent, '/account/bypass', start.text, {}).expect(303);
    const expiresAt = (await pendingBypass())?.expiresAt ?? 0;

    const page = await agent.get('/account/bypass').expect(200);
    expect(page.text).toContain('A bypass is waiting for your next sign-in.');
    expect(page.text).toContain(`<time datetime="${new Date(expiresAt).toISOString()}">`);
    expect(page.text).toContain(
      dateFormat('en', 'fullDateTime', portal.config.TIME_ZONE).format(expiresAt),
    );
    expect(page.text).toContain('action="/account/bypass/cancel"');
    expect(page.text).not.toContain('Start a bypass');
    expect(page.text).not.toContain('Your helpdesk started it for you.');

    const cancelled = await post(agent, '/account/bypass/cancel', page.text, {});
    expect(cancelled.status).toBe(303);
    expect(cancelled.headers.location).toBe('/account?done=bypassCancelled');
    expect(await pendingBypass()).toBeNull();
    expect(await events('bypass.cancelled')).toHaveLength(1);
    expect((await agent.get('/account?done=bypassCancelled')).text).toContain(
      'The one-time bypass has been cancelled.',
    );

    const again = await post(agent, '/account/bypass/cancel', page.text, {});
    expect(again.headers.location).toBe('/account/bypass');
    expect(await events('bypass.cancelled')).toHaveLength(1);

    expect((await signInLandsOn()).location).toBe('/verify');
    expect(await events('bypass.used')).toEqual([]);
  });

  it('says when the helpdesk started it', async () => {
    const { agent, user } = await enrolledUser(portal);
    await issuedByHelpdesk(user.id, 600);
    const page = await agent.get('/account/bypass').expect(200);
    expect(page.text).toContain('Your helpdesk started it for you.');
    expect(page.text).not.toContain('phone lost');
  });

  it('is not used once expired, and the page no longer shows it', async () => {
    const { agent } = await enrolledUser(portal);
    const start = await agent.get('/account/bypass').expect(200);
    await post(agent, '/account/bypass', start.text, {}).expect(303);
    // Expired: the interface issues no bypass in the past.
    await portal.services.database.db
      .updateTable('bypasses')
      .set({ expires_at: Date.now() - 1000 })
      .execute();

    const page = await agent.get('/account/bypass').expect(200);
    expect(page.text).toContain('Start a bypass for 5 minutes');
    expect(page.text).not.toContain('/account/bypass/cancel');
    expect((await signInLandsOn()).location).toBe('/verify');
    expect(await events('bypass.used')).toEqual([]);
  });
});

describe('refusals (SPEC J3, ASVS 5 7.5.1)', () => {
  it('refuses every bypass page when the settings do not allow it, and issues nothing', async () => {
    const { agent, user } = await enrolledUser(portal);
    const page = await agent.get('/account/bypass').expect(200);
    await changeSettings(portal.services, { allowBypass: false });
    await agent.get('/account/bypass').expect(403);
    expect((await post(agent, '/account/bypass', page.text, {})).status).toBe(403);
    expect(await pendingBypass()).toBeNull();
    expect(await events('bypass.issued')).toEqual([]);

    await issuedByHelpdesk(user.id);
    expect((await post(agent, '/account/bypass/cancel', page.text, {})).status).toBe(403);
    expect(await pendingBypass()).not.toBeNull();
  });

  it('asks for a proof before starting one, and issues nothing meanwhile', async () => {
    await enrolledUser(portal);
    const agent = await signInWithoutProof(portal);
    const page = await agent.get('/account/bypass');
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/account/confirm');
    const refused = await postWithToken(agent, '/account/bypass', {});
    expect(refused.status).toBe(303);
    expect(refused.headers.location).toBe('/account/confirm');
    expect(await pendingBypass()).toBeNull();
    expect(await events('bypass.issued')).toEqual([]);
  });

  it('lets a user without a recent proof cancel one: that only restores the second step', async () => {
    const { user } = await enrolledUser(portal);
    await issuedByHelpdesk(user.id);
    const agent = await signInWithoutProof(portal);
    const cancelled = await postWithToken(agent, '/account/bypass/cancel', {});
    expect(cancelled.headers.location).toBe('/account?done=bypassCancelled');
    expect(await pendingBypass()).toBeNull();
  });
});

describe('the notice email (SPEC M7, N2)', () => {
  it('tells a French-speaking user, in French, until when the bypass lasts', async () => {
    await changeSettings(portal.services, { promptBypassSeconds: true });
    const { agent } = await enrolledUser(portal, 'lotte', {
      email: 'lotte@example.test',
      language: 'fr',
    });
    const page = await agent.get('/account/bypass').expect(200);
    expect(page.text).toContain('<h1>Contournement à usage unique</h1>');
    expect(page.text).toContain('Nous vous en informerons également par e-mail.');
    await post(agent, '/account/bypass', page.text, { seconds: '600' }).expect(303);
    const expiresAt = (await pendingBypass())?.expiresAt ?? 0;

    const mail = (await smtp?.waitFor(2))?.[1];
    expect(mail?.to).toEqual(['lotte@example.test']);
    expect(mail?.language).toBe('fr');
    expect(mail?.subject).toBe(
      'Avis de sécurité : la deuxième étape sera ignorée lors de votre prochaine connexion',
    );
    const until = dateFormat('fr', 'fullDateTime', '').format(expiresAt);
    expect(mail?.text).toContain(`votre prochaine connexion avant le ${until} ne demandera pas`);
    expect(await events('bypass.issued')).toHaveLength(1);
    await expect(smtp?.waitFor(3, 300)).rejects.toThrow();
  });

  it('sends nothing to a user without an address, and does not promise to', async () => {
    const { agent } = await enrolledUser(portal);
    const page = await agent.get('/account/bypass').expect(200);
    expect(page.text).not.toContain('send you an email');
    await post(agent, '/account/bypass', page.text, {}).expect(303);
    await expect(smtp?.waitFor(1, 300)).rejects.toThrow();
  });
});
