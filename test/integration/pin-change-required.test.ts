import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPermissions } from '../../src/core/administrators.ts';
import { accountOf, accountPassword, addDevice, enrolWithApp } from '../helpers/account.ts';
import { sendAdminForm, signedInAdministrator } from '../helpers/admin.ts';
import {
  browserAgent,
  changeSettings,
  createTestPortal,
  headingOf,
  signIn,
  type TestPortal,
} from '../helpers/app.ts';
import { appCode, post } from '../helpers/two-step.ts';

/*
 * SPEC M5 "PIN change required": a PIN that an administrator reset or generated in the console
 * is changed by the user at the next second step proven with it, before the session is signed
 * in; a second step without the PIN leaves it for later.
 */

let portal: TestPortal;
let admin: Awaited<ReturnType<typeof signedInAdministrator>>;

beforeAll(async () => {
  portal = await createTestPortal();
  admin = await signedInAdministrator(
    portal,
    'root',
    adminPermissions.map((permission) => [permission, null]),
  );
  await changeSettings(portal.services, { appMode: 'pin' });
});
afterAll(async () => {
  await portal.close();
});

/** A user with the app in PIN mode whose PIN the helpdesk just set in the console. */
async function userWithResetPin(username: string) {
  const { user, secret } = await enrolWithApp(portal.services, username, accountPassword, {
    pin: '7395',
  });
  await sendAdminForm(
    admin.agent,
    `/admin/users/${user.id}/pin`,
    { mode: 'set', pin: '4820', pinConfirmation: '4820' },
    303,
  );
  expect((await portal.services.users.findById(user.id))?.pin_change_required).toBe(1);
  return { user, secret };
}

/** The password, then the app's code with the PIN on /verify. */
async function verifyWithPin(username: string, secret: Buffer, pin: string, step = 0) {
  const agent = browserAgent(portal);
  expect((await signIn(agent, username, accountPassword)).headers.location).toBe('/verify');
  const page = await agent.get('/verify').expect(200);
  const verified = await post(agent, '/verify', page.text, {
    method: 'app',
    code: appCode(secret, step),
    pin,
  });
  return { agent, verified };
}

describe('PIN change required after a reset by the helpdesk (SPEC M5)', () => {
  it('asks for a new PIN after the second step with the reset one, and signs in only then', async () => {
    const { user, secret } = await userWithResetPin('petra');
    const { agent, verified } = await verifyWithPin('petra', secret, '4820');
    expect(verified.status).toBe(303);
    expect(verified.headers.location).toBe('/verify/new-pin');
    // Not signed in yet: My account sends the session back to the second step.
    expect((await agent.get('/account').redirects(0)).headers.location).toBe('/verify');
    const form = await agent.get('/verify/new-pin').expect(200);
    expect(headingOf(form.text)).toBe('Choose a new PIN');

    const weak = await post(agent, '/verify/new-pin', form.text, {
      pin: '1234',
      pinConfirmation: '1234',
    });
    expect(weak.status).toBe(400);
    expect(weak.text).toContain('href="#pin"');
    const mismatch = await post(agent, '/verify/new-pin', form.text, {
      pin: '5902',
      pinConfirmation: '5903',
    });
    expect(mismatch.status).toBe(400);
    // The helpdesk's PIN typed again is no PIN of the user's own: the helpdesk still knows it.
    const before = await portal.services.users.findById(user.id);
    const same = await post(agent, '/verify/new-pin', form.text, {
      pin: '4820',
      pinConfirmation: '4820',
    });
    expect(same.status).toBe(400);
    expect(same.text).toContain('Choose a PIN other than the one your helpdesk set');
    expect(same.text).toContain('href="#pin"');
    expect(await portal.services.users.findById(user.id)).toEqual(before);
    expect((await portal.services.users.findById(user.id))?.pin_change_required).toBe(1);

    const chosen = await post(agent, '/verify/new-pin', form.text, {
      pin: '5902',
      pinConfirmation: '5902',
    });
    expect(chosen.status).toBe(303);
    expect(chosen.headers.location).toBe('/account');
    await agent.get('/account').expect(200);
    const row = await portal.services.users.findById(user.id);
    expect(row?.pin_change_required).toBe(0);
    const audited = await portal.services.database.db
      .selectFrom('audit_events')
      .select(['type', 'reason', 'admin_id'])
      .where('user_id', '=', user.id)
      .where('type', '=', 'change.pin')
      .orderBy('occurred_at')
      .execute();
    expect(audited.at(-1)).toEqual({
      type: 'change.pin',
      reason: 'required change',
      admin_id: null,
    });

    // The new PIN is the one: the reset one no longer signs in, and nothing more is asked.
    const old = await verifyWithPin('petra', secret, '4820', 1);
    expect(old.verified.status).toBe(400);
    const again = await verifyWithPin('petra', secret, '5902', 1);
    expect(again.verified.headers.location).toBe('/account');
  });

  it('also after a generated PIN; in Dutch and French', async () => {
    const { user, secret } = await enrolWithApp(portal.services, 'gerrit', accountPassword, {
      pin: '7395',
    });
    const generated = await sendAdminForm(
      admin.agent,
      `/admin/users/${user.id}/pin`,
      { mode: 'generate', pin: '', pinConfirmation: '' },
      200,
    );
    const pin = /<code class="secret">(\d+)<\/code>/.exec(generated.text)?.[1] ?? '';
    const { agent, verified } = await verifyWithPin('gerrit', secret, pin);
    expect(verified.headers.location).toBe('/verify/new-pin');
    const dutch = await agent.get('/verify/new-pin?lng=nl').expect(200);
    expect(headingOf(dutch.text)).toBe('Een nieuwe pincode kiezen');
    const french = await agent.get('/verify/new-pin?lng=fr').expect(200);
    expect(headingOf(french.text)).toBe('Choisir un nouveau code PIN');
  });

  it('leaves the change for later after a second step without the PIN, and refuses the page to anyone else', async () => {
    const { user } = await userWithResetPin('tomas');
    const tokenSecret = await addDevice(portal.services, user.id, { kind: 'token', name: 'TOK-T' });
    // No proof in this session yet: the page is not offered, and a post changes nothing.
    const agent = browserAgent(portal);
    await signIn(agent, 'tomas', accountPassword);
    expect((await agent.get('/verify/new-pin').redirects(0)).headers.location).toBe('/verify');
    const page = await agent.get('/verify').expect(200);
    const forged = await post(agent, '/verify/new-pin', page.text, {
      pin: '5902',
      pinConfirmation: '5902',
    });
    expect(forged.headers.location).toBe('/verify');
    expect((await accountOf(portal.services, 'tomas')).pinChangeRequired).toBe(true);
    // The token asks for no PIN: signed in at once, the change still waiting for the PIN's use.
    const byToken = await post(agent, '/verify', page.text, {
      method: 'token',
      code: appCode(tokenSecret),
      pin: '',
    });
    expect(byToken.headers.location).toBe('/account');
    expect((await accountOf(portal.services, 'tomas')).pinChangeRequired).toBe(true);
    // Signed in, the page belongs to the second step only.
    expect((await agent.get('/verify/new-pin').redirects(0)).headers.location).toBe('/account');
  });
});
