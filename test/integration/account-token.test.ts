import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeBase32, generateOtpSecret, hotp, totp } from '../../src/core/otp.ts';
import {
  browserAgent,
  createTestPortal,
  csrfTokenFrom,
  signIn,
  type TestPortal,
} from '../helpers/app.ts';
import { accountPassword, enrolledUser, signInWithoutProof } from '../helpers/account.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { post } from '../helpers/two-step.ts';

/*
 * SPEC J3, M4: a third-party OATH token on My account. One per user, proven with a current code
 * before it is saved, removed only when another way to sign in remains; audited and announced,
 * refused when the settings forbid it or the session has no recent proof.
 */

let portal: TestPortal;

beforeEach(async () => {
  portal = await createTestPortal({ RATE_LIMIT_SIGNIN_MAX: '1000' });
});
afterEach(async () => {
  await portal.close();
});

const tokenSecret = generateOtpSecret();
const sha256 = { algorithm: 'SHA256', digits: 8, period: 60 } as const;

/** The token form as a person fills it: an 8-digit, 60-second SHA-256 time-based token. */
function tokenFields(code: string) {
  return {
    serial: 'TOK-0042',
    secret: encodeBase32(tokenSecret).toLowerCase(),
    otpType: 'totp',
    digits: '8',
    period: '60',
    algorithm: 'SHA256',
    code,
  };
}

async function tokensOf(userId: string) {
  return (await portal.services.devices.forUser(userId)).filter((d) => d.kind === 'token');
}

async function eventsOf(userId: string, type: string) {
  return (await portal.services.audit.recentForUser(userId)).filter((e) => e.type === type);
}

describe('associating an OATH token (SPEC J3, M4)', () => {
  it('saves nothing on a wrong code or bad input, then adds one token and only one', async () => {
    const { agent, user } = await enrolledUser(portal);
    const page = await agent.get('/account/token').expect(200);
    expect(page.text).toContain('action="/account/token"');
    expect(page.text).toContain('autocomplete="one-time-code"');

    const wrong = await post(agent, '/account/token', page.text, tokenFields('00000000'));
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('The code is not correct');
    expect(wrong.text).not.toContain(encodeBase32(tokenSecret).toLowerCase());
    const shortCode = await post(agent, '/account/token', page.text, tokenFields('123456'));
    expect(shortCode.status).toBe(400);
    expect(shortCode.text).toContain('Enter the code as 8 digits');
    const badSecret = await post(agent, '/account/token', page.text, {
      ...tokenFields(totp(tokenSecret, Date.now(), sha256)),
      secret: 'not base32!',
    });
    expect(badSecret.status).toBe(400);
    const badChoice = await post(agent, '/account/token', page.text, {
      ...tokenFields(totp(tokenSecret, Date.now(), sha256)),
      algorithm: 'MD5',
    });
    expect(badChoice.status).toBe(400);
    expect(badChoice.text).toContain('href="#algorithm-0"');
    await post(agent, '/account/token', page.text, {
      ...tokenFields(totp(tokenSecret, Date.now(), sha256)),
      serial: ['A', 'B'],
    } as never).expect(400);
    const longSerial = await post(agent, '/account/token', page.text, {
      ...tokenFields(totp(tokenSecret, Date.now(), sha256)),
      serial: 'S'.repeat(65),
    });
    expect(longSerial.status).toBe(400);
    expect(await tokensOf(user.id)).toEqual([]);

    const proving = totp(tokenSecret, Date.now(), sha256);
    const added = await post(agent, '/account/token', page.text, tokenFields(proving));
    expect(added.status).toBe(303);
    expect(added.headers.location).toBe('/account?done=tokenAdded');
    const [token] = await tokensOf(user.id);
    expect(token).toMatchObject({
      serial: 'TOK-0042',
      otp_type: 'totp',
      digits: 8,
      period: 60,
      algorithm: 'SHA256',
    });
    expect(token?.secret).not.toContain(encodeBase32(tokenSecret));
    expect((await eventsOf(user.id, 'token.added'))[0]?.device).toBe('TOK-0042');

    const shown = await agent.get('/account/token').expect(200);
    expect(shown.text).toContain('TOK-0042');
    expect(shown.text).toContain('href="/account/token/remove"');
    expect(shown.text).not.toContain('action="/account/token"');

    const second = await post(agent, '/account/token', page.text, {
      ...tokenFields(totp(tokenSecret, Date.now() + 60_000, sha256)),
      serial: 'TOK-0043',
    });
    expect(second.status).toBe(400);
    expect(second.text).toContain('only one OATH token');
    expect(await tokensOf(user.id)).toHaveLength(1);

    // The token now completes a sign-in; its proving code cannot be used again.
    const later = browserAgent(portal);
    await signIn(later, 'lotte', accountPassword);
    const verify = await later.get('/verify?method=token').expect(200);
    const replay = await post(later, '/verify', verify.text, { method: 'token', code: proving });
    expect(replay.status).toBe(400);
    const verified = await post(later, '/verify', verify.text, {
      method: 'token',
      code: totp(tokenSecret, Date.now() + 60_000, sha256),
    });
    expect(verified.headers.location).toBe('/account');
  });

  it('associates an event-based token and keeps its counter', async () => {
    const { agent, user } = await enrolledUser(portal);
    const page = await agent.get('/account/token').expect(200);
    const response = await post(agent, '/account/token', page.text, {
      ...tokenFields(hotp(tokenSecret, 3, { algorithm: 'SHA1', digits: 6 })),
      otpType: 'hotp',
      digits: '6',
      algorithm: 'SHA1',
    });
    expect(response.status).toBe(303);
    expect((await tokensOf(user.id))[0]?.counter).toBe(4);
  });
});

describe('removing the OATH token (SPEC J3)', () => {
  it('asks first, removes it, and moves the default method back', async () => {
    const { agent, user } = await enrolledUser(portal);
    const page = await agent.get('/account/token').expect(200);
    await post(
      agent,
      '/account/token',
      page.text,
      tokenFields(totp(tokenSecret, Date.now(), sha256)),
    ).expect(303);
    await portal.services.database.db
      .updateTable('users')
      .set({ default_method: 'token' })
      .where('id', '=', user.id)
      .execute();

    const confirm = await agent.get('/account/token/remove').expect(200);
    expect(confirm.text).toContain('Remove the token</button>');
    await post(agent, '/account/token/remove', confirm.text, { extra: 'x' }).expect(400);
    expect(await tokensOf(user.id)).toHaveLength(1);
    const removed = await post(agent, '/account/token/remove', confirm.text, {});
    expect(removed.status).toBe(303);
    expect(removed.headers.location).toBe('/account?done=tokenRemoved');
    expect(await tokensOf(user.id)).toEqual([]);
    expect((await portal.services.users.findById(user.id))?.default_method).toBe('app');
    expect((await eventsOf(user.id, 'token.removed'))[0]?.device).toBe('TOK-0042');
    expect((await agent.get('/account/token/remove')).headers.location).toBe('/account/token');
  });

  it('refuses to remove the only way to sign in', async () => {
    const { agent, user } = await enrolledUser(portal);
    const page = await agent.get('/account/token').expect(200);
    await post(
      agent,
      '/account/token',
      page.text,
      tokenFields(totp(tokenSecret, Date.now(), sha256)),
    ).expect(303);
    await portal.services.database.db.deleteFrom('devices').where('kind', '=', 'app').execute();

    const confirm = await agent.get('/account/token/remove').expect(200);
    expect(confirm.text).toContain('it is your only way to sign in');
    expect(confirm.text).not.toContain('Remove the token</button>');
    const refused = await post(agent, '/account/token/remove', confirm.text, {});
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('it is your only way to sign in');
    expect(await tokensOf(user.id)).toHaveLength(1);
  });
});

describe('token changes are guarded (SPEC J3)', () => {
  it('refuses the token pages when tokens are not allowed', async () => {
    const { agent, user } = await enrolledUser(portal);
    const csrf = csrfTokenFrom((await agent.get('/account').expect(200)).text);
    await portal.services.settings.write('allowOathToken', false);
    await agent.get('/account/token').expect(403);
    await agent.get('/account/token/remove').expect(403);
    const response = await agent
      .post('/account/token')
      .type('form')
      .send({ _csrf: csrf, ...tokenFields(totp(tokenSecret, Date.now(), sha256)) });
    expect(response.status).toBe(403);
    expect(await tokensOf(user.id)).toEqual([]);
  });

  it('asks for a recent proof first and changes nothing without one', async () => {
    const { user } = await enrolledUser(portal);
    const agent = await signInWithoutProof(portal);
    const csrf = csrfTokenFrom((await agent.get('/account').expect(200)).text);
    const asked = await agent.get('/account/token');
    expect(asked.status).toBe(303);
    expect(asked.headers.location).toBe('/account/confirm');
    for (const [path, fields] of [
      ['/account/token', tokenFields(totp(tokenSecret, Date.now(), sha256))],
      ['/account/token/remove', {}],
    ] as const) {
      const response = await agent
        .post(path)
        .type('form')
        .send({ _csrf: csrf, ...fields });
      expect(response.status, path).toBe(303);
      expect(response.headers.location, path).toBe('/account/confirm');
    }
    expect(await tokensOf(user.id)).toEqual([]);
  });

  it('emails the user in Dutch when a token is added and removed', async () => {
    const smtp = await startSmtpServer();
    const mailPortal = await createTestPortal({ ...smtp.config, RATE_LIMIT_SIGNIN_MAX: '1000' });
    try {
      const { agent } = await enrolledUser(mailPortal, 'sanne', {
        email: 'sanne@example.test',
        language: 'nl',
      });
      await smtp.waitFor(1); // the enrolment's own notice
      const page = await agent.get('/account/token').expect(200);
      await post(
        agent,
        '/account/token',
        page.text,
        tokenFields(totp(tokenSecret, Date.now(), sha256)),
      ).expect(303);
      const t = mailPortal.services.i18n.getFixedT('nl');
      const added = (await smtp.waitFor(2))[1];
      expect(added?.language).toBe('nl');
      expect(added?.subject).toBe(t('notices.factorAdded.subject'));
      expect(added?.text).toContain(`${t('notices.what.token')} (TOK-0042)`);

      const confirm = await agent.get('/account/token/remove').expect(200);
      await post(agent, '/account/token/remove', confirm.text, {}).expect(303);
      const removed = (await smtp.waitFor(3))[2];
      expect(removed?.subject).toBe(t('notices.factorRemoved.subject'));
    } finally {
      await mailPortal.close();
      await smtp.close();
    }
  });
});
