import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeBase32, generateOtpSecret, hotp, totp } from '../../src/core/otp.ts';
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
  devicesOf,
  editUser,
  enrolledUser,
  createHotpTokenUser,
  signInWithoutProof,
} from '../helpers/account.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { post } from '../helpers/two-step.ts';
import { cliContext, userContext } from '../helpers/context.ts';

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

/** The user's tokens as the core shows them: no secret, no counter. */
async function tokensOf(userId: string) {
  return (await devicesOf(portal.services, userId)).filter((d) => d.kind === 'token');
}

/** The token as stored: its counter and sealed seed, which no interface call shows. */
async function storedTokenOf(userId: string) {
  return (await portal.services.devices.forUser(userId)).find((d) => d.kind === 'token');
}

async function eventsOf(userId: string, type: string) {
  return portal.services.mfa.administration.auditEvents(cliContext, { userId, type });
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
      otpType: 'totp',
      digits: 8,
      period: 60,
      algorithm: 'SHA256',
    });
    expect((await storedTokenOf(user.id))?.secret).not.toContain(encodeBase32(tokenSecret));
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
    expect((await storedTokenOf(user.id))?.counter).toBe(4);
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
    await editUser(portal.services, user.id, { defaultMethod: 'token' });

    const confirm = await agent.get('/account/token/remove').expect(200);
    expect(confirm.text).toContain('Remove the token</button>');
    await post(agent, '/account/token/remove', confirm.text, { extra: 'x' }).expect(400);
    expect(await tokensOf(user.id)).toHaveLength(1);
    const removed = await post(agent, '/account/token/remove', confirm.text, {});
    expect(removed.status).toBe(303);
    expect(removed.headers.location).toBe('/account?done=tokenRemoved');
    expect(await tokensOf(user.id)).toEqual([]);
    expect((await accountOf(portal.services, 'lotte')).defaultMethod).toBe('app');
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
    // The app deactivated in another tab: the token is left as the only way to sign in.
    const [app] = (await devicesOf(portal.services, user.id)).filter((d) => d.kind === 'app');
    await portal.services.mfa.account.removeDevice(userContext(user.id), {
      userId: user.id,
      deviceId: app?.id ?? '',
    });

    const confirm = await agent.get('/account/token/remove').expect(200);
    expect(confirm.text).toContain('it is your only method for the second step');
    expect(confirm.text).not.toContain('Remove the token</button>');
    const refused = await post(agent, '/account/token/remove', confirm.text, {});
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('it is your only method for the second step');
    expect(await tokensOf(user.id)).toHaveLength(1);
  });
});

describe('token changes are guarded (SPEC J3)', () => {
  it('refuses the token pages when tokens are not allowed', async () => {
    const { agent, user } = await enrolledUser(portal);
    const csrf = csrfTokenFrom((await agent.get('/account').expect(200)).text);
    await changeSettings(portal.services, { allowOathToken: false });
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

describe('bringing an event-based token back in step (SPEC M4)', () => {
  const hotpUser = (username: string) =>
    createHotpTokenUser(portal.services, username, accountPassword);

  /** Signs in as the helpdesk would let them: with a one-time bypass, so with no proof. */
  async function signInWithBypass(username: string) {
    const user = await accountOf(portal.services, username);
    await portal.services.mfa.administration.issueBypass(cliContext, {
      userId: user.id,
      seconds: 300,
      reason: 'token out of step',
    });
    const agent = browserAgent(portal);
    expect((await signIn(agent, username, accountPassword)).headers.location).toBe('/account');
    return agent;
  }

  /** The next counter the core expects: `code(1)` after set-up (createHotpTokenUser). */
  async function counterOf(userId: string) {
    return (await storedTokenOf(userId))?.counter;
  }

  it('accepts two consecutive codes without a fresh proof, then signs in with the next code', async () => {
    const { user, code } = await hotpUser('hanna');
    // Pressed 40 times away from the portal: past the sign-in look-ahead of 10.
    const outOfStep = browserAgent(portal);
    await signIn(outOfStep, 'hanna', accountPassword);
    const verify = await outOfStep.get('/verify').expect(200);
    expect(
      (await post(outOfStep, '/verify', verify.text, { method: 'token', code: code(40) })).status,
    ).toBe(400);

    const agent = await signInWithBypass('hanna');
    const account = await agent.get('/account').expect(200);
    expect(account.text).toContain('href="/account/token/resync"');
    const page = await agent.get('/account/token/resync').expect(200);
    expect(page.text).toContain('HOTP-7');
    expect(page.text).toContain('autocomplete="one-time-code"');

    const apart = await post(agent, '/account/token/resync', page.text, {
      code1: code(40),
      code2: code(42),
    });
    expect(apart.status).toBe(400);
    expect(apart.text).toContain('These two codes do not follow each other on your token.');
    expect(await counterOf(user.id)).toBe(1);

    const done = await post(agent, '/account/token/resync', page.text, {
      code1: code(41),
      code2: code(42),
    });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/account?done=tokenResynced');
    expect(await counterOf(user.id)).toBe(43);
    expect((await agent.get('/account?done=tokenResynced')).text).toContain(
      'Your token has been resynchronised',
    );
    const events = await eventsOf(user.id, 'token.resync');
    expect(events.map((e) => e.result)).toEqual(['success', 'failure']);

    // The same two codes again: used up (SPEC S6).
    const replay = await post(agent, '/account/token/resync', page.text, {
      code1: code(41),
      code2: code(42),
    });
    expect(replay.status).toBe(400);
    expect(await counterOf(user.id)).toBe(43);

    const next = browserAgent(portal);
    await signIn(next, 'hanna', accountPassword);
    const second = await next.get('/verify').expect(200);
    const signedIn = await post(next, '/verify', second.text, { method: 'token', code: code(43) });
    expect(signedIn.headers.location).toBe('/account');
  });

  it('changes nothing on bad input, with a message for each field', async () => {
    const { user, code } = await hotpUser('hanna');
    const agent = await signInWithBypass('hanna');
    const page = await agent.get('/account/token/resync').expect(200);
    const empty = await post(agent, '/account/token/resync', page.text, { code1: '', code2: '' });
    expect(empty.status).toBe(400);
    expect(empty.text).toContain('Enter the first code');
    expect(empty.text).toContain('Enter the next code');
    expect(empty.text).toContain('href="#code1"');
    const malformed = await post(agent, '/account/token/resync', page.text, {
      code1: 'abcdef',
      code2: '1'.repeat(5000),
    });
    expect(malformed.status).toBe(400);
    expect(malformed.text).toContain('Enter the code as 6 digits');
    expect(malformed.text).not.toContain('1'.repeat(50));
    const repeated = await agent
      .post('/account/token/resync')
      .type('form')
      .send({ _csrf: csrfTokenFrom(page.text), code1: [code(1), code(2)], code2: code(2) });
    expect(repeated.status).toBe(400);
    expect(await counterOf(user.id)).toBe(1);
    // Bad input is not a wrong guess: it does not count towards the lockout.
    expect((await accountOf(portal.services, 'hanna')).failedAttempts).toBe(0);
  });

  it('counts wrong pairs towards the lockout', async () => {
    await changeSettings(portal.services, { lockoutThreshold: 2 });
    const { user, code } = await hotpUser('hanna');
    const agent = await signInWithBypass('hanna');
    const page = await agent.get('/account/token/resync').expect(200);
    const wrongPair = { code1: code(5), code2: code(9) };
    expect((await post(agent, '/account/token/resync', page.text, wrongPair)).status).toBe(400);
    const locked = await post(agent, '/account/token/resync', page.text, wrongPair);
    expect(locked.status).toBe(403);
    expect(locked.text).toContain('Your account is locked');
    // Locked: even the right pair is not tried.
    const right = await post(agent, '/account/token/resync', page.text, {
      code1: code(5),
      code2: code(6),
    });
    expect(right.status).toBe(403);
    expect(await counterOf(user.id)).toBe(1);
  });

  it('is not offered for a time-based token or without a token', async () => {
    const { agent } = await enrolledUser(portal);
    expect((await agent.get('/account')).text).not.toContain('/account/token/resync');
    const away = await agent.get('/account/token/resync').expect(302);
    expect(away.headers.location).toBe('/account');
    const signedOut = await browserAgent(portal).get('/account/token/resync').expect(302);
    expect(signedOut.headers.location).toBe('/sign-in');
  });
});
