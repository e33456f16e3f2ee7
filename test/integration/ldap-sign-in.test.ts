import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  browserAgent,
  changeSettings,
  createTestPortal,
  createUser,
  signIn,
  type TestPortal,
} from '../helpers/app.ts';
import { accountOf } from '../helpers/account.ts';
import { cliContext } from '../helpers/context.ts';
import { needs } from '../helpers/services.ts';
import {
  enrolGroupDn,
  ldapPortalEnv,
  portalGroupDn,
  slapdMissing,
  startSlapd,
  type Slapd,
} from '../helpers/slapd.ts';
import { appCode, enrolApp, post } from '../helpers/two-step.ts';

/**
 * SPEC J1, D1, S4, M8 through the portal: a directory user signs in with their directory
 * password, gets an account the first time, and goes on to User Setup or the second step like a
 * local user; every refusal is the same page; failures lock the account before a bind is tried.
 */
const skip = await needs('slapd', slapdMissing);

let slapd: Slapd;
let portal: TestPortal;
beforeAll(async () => {
  if (skip) return;
  slapd = await startSlapd();
  portal = await createTestPortal({
    RATE_LIMIT_SIGNIN_MAX: '1000',
    ...ldapPortalEnv(slapd),
    LDAP_ATTRIBUTE_PHONE: 'telephoneNumber',
    LDAP_ATTRIBUTE_MOBILE: 'mobile',
    LDAP_TIMEOUT_SECONDS: '2',
    LDAP_USER_GROUPS: `${enrolGroupDn};${portalGroupDn}`,
  });
  await createUser(portal, 'break-glass', 'local admin password', 'admin');
});
afterAll(async () => {
  if (skip) return;
  await portal.close();
  await slapd.close();
});
beforeEach(async () => {
  if (skip) return;
  await changeSettings(portal.services, { lockoutThreshold: 3 });
});

/** The response, once it has the status expected. */
function expectStatus<R extends { status: number }>(response: R, status: number): R {
  expect(response.status).toBe(status);
  return response;
}

function passwordEvents(username: string) {
  return portal.services.mfa.administration
    .auditEvents(cliContext, {
      type: 'sign-in.password',
    })
    .then((events) => events.filter((event) => event.username === username));
}

describe.skipIf(skip)('LDAP sign-in through the portal (SPEC J1, D1)', () => {
  it('gives a directory user an account the first time, with their names, email and the phones the configuration maps, whatever form of their name they type', async () => {
    const response = expectStatus(
      await signIn(browserAgent(portal), 'EXAMPLE\\jdoe', 'Correct horse 1'),
      303,
    );
    expect(await accountOf(portal.services, 'jdoe')).toMatchObject({
      username: 'jdoe',
      displayName: 'Jane Doe',
      email: 'jane.doe@example.org',
      phone: '+31201234567',
      mobilePhone: '+31612345678',
    });
    // The directory's phone numbers are ways to sign in, as in the original product.
    expect(response.headers.location).toBe('/verify');
    const again = expectStatus(
      await signIn(browserAgent(portal), 'jdoe@example.org', 'Correct horse 1'),
      303,
    );
    expect(again.headers.location).toBe('/verify');
    expect((await portal.services.users.findByUsername('jdoe'))?.directory).toBe('ldap');
  });

  it('sets the group from the directory at each sign-in, over one set in the console', async () => {
    expectStatus(await signIn(browserAgent(portal), 'noenrol', 'No enrol 1'), 303);
    const groupOf = async () => (await portal.services.users.findByUsername('noenrol'))?.user_group;
    expect(await groupOf()).toBe('portal-users');
    await portal.services.database.db
      .updateTable('users')
      .set({ user_group: 'sales' })
      .where('username', '=', 'noenrol')
      .execute();
    expectStatus(await signIn(browserAgent(portal), 'noenrol', 'No enrol 1'), 303);
    expect(await groupOf()).toBe('portal-users');
  });

  it('takes a directory user without phones through User Setup, then the second step, like a local user', async () => {
    const agent = browserAgent(portal);
    const first = expectStatus(await signIn(agent, 'nested', 'Nested pass 1'), 303);
    expect(first.headers.location).toBe('/setup');
    const secret = await enrolApp(agent);
    await agent.get('/account').expect(200);

    const again = browserAgent(portal);
    const step = expectStatus(await signIn(again, 'NESTED', 'Nested pass 1'), 303);
    expect(step.headers.location).toBe('/verify');
    const verify = await again.get('/verify').expect(200);
    await post(again, '/verify', verify.text, { method: 'app', code: appCode(secret, 1) }).expect(
      303,
    );
    await again.get('/account').expect(200);
  });

  it('refuses a wrong password, an unknown user, a disabled, expired or locked directory account and a user outside the portal group with the same page', async () => {
    const pages = new Set<string>();
    for (const [username, password] of [
      ['nested', 'wrong password'],
      ['nobody-here', 'Correct horse 1'],
      ['disabled', 'Disabled pass 1'],
      ['expired', 'Expired pass 1'],
      ['locked', 'Locked pass 1'],
      ['outsider', 'Outsider pass 1'],
      ['OTHERDOMAIN\\jdoe', 'Correct horse 1'],
      ['*', 'Correct horse 1'],
    ] as const) {
      const response = expectStatus(await signIn(browserAgent(portal), username, password), 400);
      // The form token and the username typed back differ, nothing else.
      pages.add(response.text.replace(/ value="[^"]*"/g, ''));
    }
    expect(pages.size).toBe(1);
    // Nobody refused got an account, but the one with a wrong password (who may use the portal).
    const { users } = portal.services;
    for (const username of ['nobody-here', 'disabled', 'expired', 'locked', 'outsider']) {
      expect(await users.findByUsername(username), username).toBeUndefined();
    }
    expect(await users.findByUsername('nested')).toBeDefined();
  });

  it('sends a user outside the enrolment group to the not-enrolled page, and lets one in it through a nested group enrol', async () => {
    const outside = expectStatus(await signIn(browserAgent(portal), 'noenrol', 'No enrol 1'), 303);
    expect(outside.headers.location).toBe('/not-enrolled');
    const nested = expectStatus(await signIn(browserAgent(portal), 'nested', 'Nested pass 1'), 303);
    expect(nested.headers.location).not.toBe('/not-enrolled');
  });

  it('counts failures before the bind: once locked, even the right directory password is not tried', async () => {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expectStatus(await signIn(browserAgent(portal), 'noenrol', `wrong ${String(attempt)}`), 400);
    }
    expect((await accountOf(portal.services, 'noenrol')).lockedUntil).toBeGreaterThan(Date.now());
    expectStatus(await signIn(browserAgent(portal), 'noenrol', 'No enrol 1'), 400);
    const reasons = (await passwordEvents('noenrol')).map((event) => event.reason);
    expect(reasons[0]).toBe('locked');
  });

  it('never binds with an empty password (an anonymous bind the server would accept)', async () => {
    const response = await portal.services.mfa.signIn.signIn(
      { actor: { kind: 'user', userId: null }, clientIp: '127.0.0.1', language: 'en' },
      { username: 'nested', password: '' },
    );
    expect(response.next).toBe('refused');
  });

  it('keeps a local account signing in with its own password, and never lets a directory user take it over', async () => {
    const response = expectStatus(
      await signIn(browserAgent(portal), 'break-glass', 'local admin password'),
      303,
    );
    expect(response.headers.location).toBe('/setup');
  });

  it('answers "temporarily unavailable" and readiness false while the directory is down, then recovers', async () => {
    await slapd.stop();
    const started = Date.now();
    const down = await signIn(browserAgent(portal), 'nested', 'Nested pass 1');
    expect(down.status).toBe(503);
    expect(down.headers['retry-after']).toBe('30');
    expect(Date.now() - started).toBeLessThan(5000);
    const ready = await browserAgent(portal).get('/readyz').expect(503);
    expect((ready.body as { checks: unknown }).checks).toMatchObject({
      database: 'ok',
      directory: 'failed',
    });
    // An unknown user gets the same page while it is down: the outage tells nothing either.
    expect((await signIn(browserAgent(portal), 'nobody-here', 'x')).status).toBe(503);

    await slapd.start();
    await browserAgent(portal).get('/readyz').expect(200);
    expect((await signIn(browserAgent(portal), 'nested', 'Nested pass 1')).status).toBe(303);
  });
});
