import type supertest from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  browserAgent,
  createTestPortal,
  csrfTokenFrom,
  signIn,
  type TestPortal,
  changeSettings,
} from '../helpers/app.ts';
import {
  accountOf,
  accountPassword,
  devicesOf as devicesOfUser,
  editUser,
  enrolledUser,
  signInWithoutProof,
} from '../helpers/account.ts';
import { cliContext } from '../helpers/context.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { appCode, post, secretFrom } from '../helpers/two-step.ts';

/*
 * SPEC J3, M3: mobile app devices on My account. Activation up to the device limit, renaming,
 * deactivation (never the last way to sign in), each audited and announced, refused when the
 * settings forbid it or the session has no recent proof, and nothing changed on bad input.
 */

type Agent = ReturnType<typeof supertest.agent>;

let portal: TestPortal;

beforeEach(async () => {
  portal = await createTestPortal({ RATE_LIMIT_SIGNIN_MAX: '1000' });
});
afterEach(async () => {
  await portal.close();
});

async function devicesOf(userId: string) {
  return (await devicesOfUser(portal.services, userId)).map((d) => ({
    id: d.id,
    kind: d.kind,
    name: d.name,
  }));
}

async function eventsOf(userId: string, type: string) {
  return portal.services.mfa.administration.auditEvents(cliContext, { userId, type });
}

/** Activates a new device by the pages, as a person would; returns its secret. */
async function activate(agent: Agent, name: string): Promise<Buffer> {
  const list = await agent.get('/account/devices').expect(200);
  const started = await post(agent, '/account/devices/new', list.text, { name }).expect(303);
  expect(started.headers.location).toBe('/account/devices/new');
  const page = await agent.get('/account/devices/new').expect(200);
  const secret = secretFrom(page.text);
  const done = await post(agent, '/account/devices/activate', page.text, {
    code: appCode(secret),
  }).expect(303);
  expect(done.headers.location).toBe('/account?done=deviceAdded');
  return secret;
}

describe('activating mobile app devices (SPEC J3, M3)', () => {
  it('activates devices up to the limit, refuses one more, and signs in with the new one', async () => {
    const { agent, user } = await enrolledUser(portal);
    const list = await agent.get('/account/devices').expect(200);
    expect(list.text).toContain('<th scope="row">Mobile app 1</th>');
    expect(list.text).toContain('value="Mobile app 2"');

    const started = await post(agent, '/account/devices/new', list.text, { name: 'Work phone' });
    expect(started.status).toBe(303);
    const page = await agent.get('/account/devices/new').expect(200);
    expect(page.text).toMatch(/<img class="qr" src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+"/);
    expect(page.text).toContain('otpauth://totp/MFA%20Portal:lotte?secret=');
    expect(page.text).toContain('autocomplete="one-time-code"');
    expect(page.text).toContain('Device name: Work phone');
    const secret = secretFrom(page.text);

    const wrong = await post(agent, '/account/devices/activate', page.text, { code: '000000' });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('The code is not correct');
    const malformed = await post(agent, '/account/devices/activate', page.text, {
      code: '12ab',
    });
    expect(malformed.status).toBe(400);
    await post(agent, '/account/devices/activate', page.text, {
      code: [appCode(secret), '000000'],
    } as never).expect(400);
    expect(await devicesOf(user.id)).toHaveLength(1);

    const done = await post(agent, '/account/devices/activate', page.text, {
      code: appCode(secret),
    });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/account?done=deviceAdded');
    expect((await devicesOf(user.id)).map((d) => d.name)).toEqual(['Mobile app 1', 'Work phone']);
    const added = await eventsOf(user.id, 'device.added');
    expect(added.map((e) => [e.device, e.method])).toEqual([['Work phone', 'app']]);
    // The draft is gone: its page leads back to the list.
    expect((await agent.get('/account/devices/new')).headers.location).toBe('/account/devices');

    // At the limit (2 by default): no form, and a forged request changes nothing.
    const full = await agent.get('/account/devices').expect(200);
    expect(full.text).not.toContain('action="/account/devices/new"');
    expect(full.text).toContain('maximum number of devices (2)');
    const beyond = await post(agent, '/account/devices/new', full.text, { name: 'Tablet' });
    expect(beyond.status).toBe(400);
    expect(beyond.text).toContain('maximum number of devices (2)');
    expect((await agent.get('/account/devices/new')).status).toBe(302);
    expect(await devicesOf(user.id)).toHaveLength(2);

    // A code from the new device completes a later sign-in.
    const later = browserAgent(portal);
    const signedIn = await signIn(later, 'lotte', accountPassword);
    expect(signedIn.headers.location).toBe('/verify');
    const verify = await later.get('/verify').expect(200);
    const verified = await post(later, '/verify', verify.text, {
      method: 'app',
      code: appCode(secret, 1),
    });
    expect(verified.status).toBe(303);
    expect(verified.headers.location).toBe('/account');
    const signIns = await eventsOf(user.id, 'sign-in.second-step');
    expect(signIns[0]?.device).toBe('Work phone');
  });

  it('checks the limit again when the device is saved', async () => {
    const { agent, user } = await enrolledUser(portal);
    const list = await agent.get('/account/devices').expect(200);
    await post(agent, '/account/devices/new', list.text, { name: 'Tablet' }).expect(303);
    const page = await agent.get('/account/devices/new').expect(200);
    const secret = secretFrom(page.text);
    await changeSettings(portal.services, { deviceLimit: 1 });
    const refused = await post(agent, '/account/devices/activate', page.text, {
      code: appCode(secret),
    });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('maximum number of devices (1)');
    expect(await devicesOf(user.id)).toHaveLength(1);
    expect(await eventsOf(user.id, 'device.added')).toEqual([]);
  });

  it('asks for a new PIN with the code when the app needs one and the user has none', async () => {
    const { agent, user } = await enrolledUser(portal);
    await changeSettings(portal.services, { appMode: 'pin' });
    const list = await agent.get('/account/devices').expect(200);
    await post(agent, '/account/devices/new', list.text, { name: 'Tablet' }).expect(303);
    const page = await agent.get('/account/devices/new').expect(200);
    expect(page.text).toContain('name="pinConfirmation"');
    const secret = secretFrom(page.text);
    const weak = await post(agent, '/account/devices/activate', page.text, {
      pin: '1234',
      pinConfirmation: '1234',
      code: appCode(secret),
    });
    expect(weak.status).toBe(400);
    expect(await devicesOf(user.id)).toHaveLength(1);
    await post(agent, '/account/devices/activate', page.text, {
      pin: '4863',
      pinConfirmation: '4863',
      code: appCode(secret),
    }).expect(303);
    expect(await devicesOf(user.id)).toHaveLength(2);
    expect((await accountOf(portal.services, user.username)).hasPin).toBe(true);
    // The PIN as stored: an Argon2id hash, which no interface call shows.
    expect((await portal.services.users.findById(user.id))?.pin_hash).toMatch(/^\$argon2id\$/);
  });

  it('refuses a bad device name and keeps no draft', async () => {
    const { agent } = await enrolledUser(portal);
    const list = await agent.get('/account/devices').expect(200);
    for (const name of ['', '   ', 'x'.repeat(41), 'bell\u0007', 'mobile APP 1']) {
      const response = await post(agent, '/account/devices/new', list.text, { name });
      expect(response.status, JSON.stringify(name)).toBe(400);
      expect(response.text).toContain('aria-invalid="true"');
    }
    await post(agent, '/account/devices/new', list.text, { name: ['a', 'b'] } as never).expect(400);
    await post(agent, '/account/devices/new', list.text, { name: 'ok', extra: '1' }).expect(400);
    expect((await agent.get('/account/devices/new')).status).toBe(302);
    // Forty characters as people count them is fine, accents and emoji included.
    const fine = await post(agent, '/account/devices/new', list.text, {
      name: `Téléphone 👍🏽 ${'é'.repeat(26)}`,
    });
    expect(fine.status).toBe(303);
  });
});

describe('renaming and deactivating devices (SPEC J3)', () => {
  it('renames only the user’s own device, with the name checked', async () => {
    const { agent, user } = await enrolledUser(portal);
    const other = await enrolledUser(portal, 'bram');
    const [device] = await devicesOf(user.id);
    const [theirs] = await devicesOf(other.user.id);
    const path = `/account/devices/${device?.id ?? ''}/rename`;
    const page = await agent.get(path).expect(200);
    expect(page.text).toContain('value="Mobile app 1"');

    for (const name of ['', 'x'.repeat(41)]) {
      expect((await post(agent, path, page.text, { name })).status).toBe(400);
    }
    await post(agent, path, page.text, { name: ['a', 'b'] } as never).expect(400);
    expect((await devicesOf(user.id))[0]?.name).toBe('Mobile app 1');

    const theirPath = `/account/devices/${theirs?.id ?? ''}/rename`;
    await agent.get(theirPath).expect(404);
    await post(agent, theirPath, page.text, { name: 'Mine now' }).expect(404);
    await agent.get('/account/devices/not-a-device/rename').expect(404);
    expect((await devicesOf(other.user.id))[0]?.name).toBe('Mobile app 1');

    const renamed = await post(agent, path, page.text, { name: '  Personal phone ' });
    expect(renamed.status).toBe(303);
    expect(renamed.headers.location).toBe('/account?done=deviceRenamed');
    expect((await devicesOf(user.id))[0]?.name).toBe('Personal phone');
    expect((await eventsOf(user.id, 'device.renamed'))[0]?.device).toBe('Personal phone');
    const summary = await agent.get('/account?done=deviceRenamed').expect(200);
    expect(summary.text).toContain('The device has been renamed.');
  });

  it('deactivates a device, but never the last way to sign in', async () => {
    const { agent, user } = await enrolledUser(portal);
    await activate(agent, 'Work phone');
    const [first, second] = await devicesOf(user.id);

    const confirm = await agent.get(`/account/devices/${first?.id ?? ''}/remove`).expect(200);
    expect(confirm.text).toContain('Deactivate the device');
    const removed = await post(
      agent,
      `/account/devices/${first?.id ?? ''}/remove`,
      confirm.text,
      {},
    );
    expect(removed.status).toBe(303);
    expect(removed.headers.location).toBe('/account?done=deviceRemoved');
    expect((await devicesOf(user.id)).map((d) => d.name)).toEqual(['Work phone']);
    expect((await eventsOf(user.id, 'device.removed'))[0]?.device).toBe('Mobile app 1');

    const last = await agent.get(`/account/devices/${second?.id ?? ''}/remove`).expect(200);
    expect(last.text).toContain('it is your only method for the second step');
    expect(last.text).not.toContain('Deactivate the device</button>');
    const refused = await post(agent, `/account/devices/${second?.id ?? ''}/remove`, last.text, {});
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('it is your only method for the second step');
    expect(await devicesOf(user.id)).toHaveLength(1);
    await post(agent, `/account/devices/${first?.id ?? ''}/remove`, last.text, {}).expect(404);
  });

  it('keeps the last app device when the other method cannot be used (no text provider)', async () => {
    const { agent, user } = await enrolledUser(portal);
    await editUser(portal.services, user.id, { mobilePhone: '+31612345678' });
    const [device] = await devicesOf(user.id);
    const page = await agent.get(`/account/devices/${device?.id ?? ''}/remove`).expect(200);
    await post(agent, `/account/devices/${device?.id ?? ''}/remove`, page.text, {}).expect(400);
    expect(await devicesOf(user.id)).toEqual([device]);
  });

  it('moves the default method when the last app device goes', async () => {
    await portal.close();
    portal = await createTestPortal({ RATE_LIMIT_SIGNIN_MAX: '1000', SIMULATOR_ENABLED: 'true' });
    const { agent, user } = await enrolledUser(portal);
    await editUser(portal.services, user.id, { mobilePhone: '+31612345678' });
    const [device] = await devicesOf(user.id);
    const page = await agent.get(`/account/devices/${device?.id ?? ''}/remove`).expect(200);
    await post(agent, `/account/devices/${device?.id ?? ''}/remove`, page.text, {}).expect(303);
    expect((await accountOf(portal.services, user.username)).defaultMethod).toBe('sms');
  });
});

describe('device changes are guarded (SPEC J3, S9)', () => {
  it('refuses every device page when the mobile app is not allowed', async () => {
    const { agent, user } = await enrolledUser(portal);
    const [device] = await devicesOf(user.id);
    const token = csrfTokenFrom((await agent.get('/account').expect(200)).text);
    await changeSettings(portal.services, { allowMobileApp: false });
    await agent.get('/account/devices').expect(403);
    await agent.get('/account/devices/new').expect(403);
    await agent.get(`/account/devices/${device?.id ?? ''}/rename`).expect(403);
    for (const [path, fields] of [
      ['/account/devices/new', { name: 'Tablet' }],
      [`/account/devices/${device?.id ?? ''}/rename`, { name: 'Renamed' }],
      [`/account/devices/${device?.id ?? ''}/remove`, {}],
    ] as const) {
      const response = await agent
        .post(path)
        .type('form')
        .send({ _csrf: token, ...fields });
      expect(response.status, path).toBe(403);
    }
    expect(await devicesOf(user.id)).toEqual([device]);
  });

  it('asks for a recent proof first and changes nothing without one', async () => {
    const { user } = await enrolledUser(portal);
    const [device] = await devicesOf(user.id);
    const agent = await signInWithoutProof(portal);
    const token = csrfTokenFrom((await agent.get('/account').expect(200)).text);
    const asked = await agent.get('/account/devices');
    expect(asked.status).toBe(303);
    expect(asked.headers.location).toBe('/account/confirm');
    for (const [path, fields] of [
      ['/account/devices/new', { name: 'Tablet' }],
      [`/account/devices/${device?.id ?? ''}/rename`, { name: 'Renamed' }],
      [`/account/devices/${device?.id ?? ''}/remove`, {}],
      ['/account/devices/activate', { code: '123456' }],
    ] as const) {
      const response = await agent
        .post(path)
        .type('form')
        .send({ _csrf: token, ...fields });
      expect(response.status, path).toBe(303);
      expect(response.headers.location, path).toBe('/account/confirm');
    }
    expect(await devicesOf(user.id)).toEqual([device]);
  });

  it('emails the user in French when a device is activated and deactivated', async () => {
    const smtp = await startSmtpServer();
    const mailPortal = await createTestPortal({ ...smtp.config, RATE_LIMIT_SIGNIN_MAX: '1000' });
    try {
      const { agent, user } = await enrolledUser(mailPortal, 'amelie', {
        email: 'amelie@example.test',
        language: 'fr',
      });
      await smtp.waitFor(1); // the enrolment's own notice
      const list = await agent.get('/account/devices').expect(200);
      await post(agent, '/account/devices/new', list.text, { name: 'Tablette' }).expect(303);
      const page = await agent.get('/account/devices/new').expect(200);
      await post(agent, '/account/devices/activate', page.text, {
        code: appCode(secretFrom(page.text)),
      }).expect(303);
      const added = (await smtp.waitFor(2))[1];
      const t = mailPortal.services.i18n.getFixedT('fr');
      expect(added?.to).toEqual(['amelie@example.test']);
      expect(added?.language).toBe('fr');
      expect(added?.subject).toBe(t('notices.factorAdded.subject'));
      expect(added?.text).toContain('application mobile (Tablette)');

      const [device] = await devicesOfUser(mailPortal.services, user.id);
      const confirm = await agent.get(`/account/devices/${device?.id ?? ''}/remove`).expect(200);
      await post(agent, `/account/devices/${device?.id ?? ''}/remove`, confirm.text, {}).expect(
        303,
      );
      const removed = (await smtp.waitFor(3))[2];
      expect(removed?.subject).toBe(t('notices.factorRemoved.subject'));
      expect(removed?.text).toContain('application mobile (Mobile app 1)');
    } finally {
      await mailPortal.close();
      await smtp.close();
    }
  });
});
