import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  browserAgent,
  createTestPortal,
  createUser,
  csrfTokenFrom,
  signIn,
  trustLoopback,
  type TestPortal,
  changeSettings,
} from '../helpers/app.ts';
import { accountOf, accountPassword, createAppUser } from '../helpers/account.ts';
import { cliContext } from '../helpers/context.ts';
import { appCode, post } from '../helpers/two-step.ts';

const password = 'correct horse battery';
let portal: TestPortal;

beforeEach(async () => {
  portal = await createTestPortal({ RATE_LIMIT_SIGNIN_MAX: '1000' });
  await changeSettings(portal.services, { lockoutThreshold: 3 });
  await trustLoopback(portal);
  await createUser(portal, 'Jan.Jansen', password);
});
afterEach(async () => {
  await portal.close();
});

/** The password step's audit records (SPEC A4), newest first: the user's, or everyone's. */
function passwordEvents(userId?: string) {
  return portal.services.mfa.administration.auditEvents(cliContext, {
    type: 'sign-in.password',
    ...(userId === undefined ? {} : { userId }),
  });
}

function sessionCookie(response: { headers: Record<string, unknown> }): string | undefined {
  const cookies = (response.headers['set-cookie'] ?? []) as string[];
  return cookies.find((c) => c.startsWith('mfa.sid='))?.split(';')[0];
}

describe('local sign-in (SPEC J1, S2, S4, M8)', () => {
  it('signs a user in, case-insensitively, with a new session id, and shows My account', async () => {
    const agent = browserAgent(portal);
    const page = await agent.get('/sign-in').expect(200);
    // SPEC S11: no server session, and so no session cookie, before the password.
    expect(sessionCookie(page)).toBeUndefined();

    const response = await agent
      .post('/sign-in')
      .type('form')
      .send({ _csrf: csrfTokenFrom(page.text), username: 'jan.jansen', password })
      .expect(303);
    expect(response.headers.location).toBe('/account');
    const signedInCookie = sessionCookie(response);
    expect(signedInCookie).toBeDefined();

    const account = await agent.get('/account').expect(200);
    expect(account.text).toContain('Jan.Jansen display');
    expect(account.headers['cache-control']).toBe('no-store');
  });

  it('refuses a wrong password and an unknown user with the same page and status', async () => {
    const wrong = await signIn(browserAgent(portal), 'jan.jansen', 'wrong password');
    const unknown = await signIn(browserAgent(portal), 'nobody', 'wrong password');
    expect(wrong.status).toBe(400);
    expect(unknown.status).toBe(400);
    const summary = (html: string) => /<div class="error-summary"[\s\S]*?<\/div>/.exec(html)?.[0];
    expect(summary(wrong.text)).toContain('The username or password is not correct');
    expect(summary(unknown.text)?.replace('nobody', 'jan.jansen')).toBe(summary(wrong.text));
    expect(wrong.text).toContain('<title>Error: Sign in');
    // The summary links to the username, but neither field is marked as the wrong one.
    expect(summary(wrong.text)).toContain('href="#username"');
    expect(wrong.text).not.toContain('aria-invalid="true"');
    const missing = await signIn(browserAgent(portal), '', 'a password');
    expect(missing.text).toMatch(/id="username"[^>]*aria-invalid="true"/);
  });

  it('takes about as long for an unknown user or a locked account as for a wrong password', async () => {
    const time = async (username: string) => {
      const agent = browserAgent(portal);
      const page = await agent.get('/sign-in');
      const started = performance.now();
      await agent
        .post('/sign-in')
        .type('form')
        .send({ _csrf: csrfTokenFrom(page.text), username, password: 'wrong password' });
      return performance.now() - started;
    };
    const median = async (username: string) => {
      const samples = [];
      for (let i = 0; i < 5; i++) samples.push(await time(username));
      return samples.sort((a, b) => a - b)[2] ?? 0;
    };
    await changeSettings(portal.services, { lockoutThreshold: 100 });
    const unknown = await median('nobody-at-all');
    const known = await median('jan.jansen');
    // Locked without the attempts that would lock it: they would spoil the timing samples.
    await portal.services.database.db
      .updateTable('users')
      .set({ locked_until: Date.now() + 15 * 60_000 })
      .where('username', '=', 'jan.jansen')
      .execute();
    const locked = await median('jan.jansen');
    // Each pays one Argon2id verification (tens of ms), against the dummy hash when the user is
    // unknown or the account locked; without it those would take ~1 ms.
    for (const other of [unknown, locked]) {
      expect(other).toBeGreaterThan(known * 0.5);
      expect(other).toBeLessThan(known * 2);
    }
  });

  it('locks the account after the threshold, across sessions, and then tells no one, not even the right password', async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      // A fresh agent each time: the counter lives in the database, not in the session.
      expect((await signIn(browserAgent(portal), 'jan.jansen', 'bad guess')).status).toBe(400);
    }
    const locked = await accountOf(portal.services, 'jan.jansen');
    expect(locked.lockedUntil).toBeGreaterThan(Date.now());

    // A right password while locked is not even tried: it reads exactly as a wrong one (SPEC S4),
    // so a locked account cannot be used to test passwords, and it does not count.
    const withRightPassword = await signIn(browserAgent(portal), 'jan.jansen', password);
    const withWrongPassword = await signIn(browserAgent(portal), 'jan.jansen', 'bad guess');
    const summary = (html: string) => /<div class="error-summary"[\s\S]*?<\/div>/.exec(html)?.[0];
    expect(withRightPassword.status).toBe(400);
    expect(withWrongPassword.status).toBe(400);
    expect(summary(withRightPassword.text)).toBe(summary(withWrongPassword.text));
    expect(summary(withRightPassword.text)).toContain(
      'The username or password is not correct. After several failed attempts an account is locked',
    );
    expect(withRightPassword.text).not.toContain('Try again in');
    expect(await accountOf(portal.services, 'jan.jansen')).toMatchObject({
      failedAttempts: locked.failedAttempts,
      lockedUntil: locked.lockedUntil,
    });

    // The administrator still reads what happened.
    const events = await passwordEvents(locked.id);
    expect(events.map((e) => e.reason)).toEqual([
      'locked',
      'locked',
      'invalid',
      'invalid',
      'invalid',
    ]);
  });

  it('says how many minutes the lockout of the second step lasts, one minute in the singular', async () => {
    await changeSettings(portal.services, { trustedIps: [] });
    await changeSettings(portal.services, { lockoutMinutes: 1 });
    await createAppUser(portal.services, 'anna', password);
    const agent = browserAgent(portal);
    await agent.get('/sign-in?lng=nl');
    await signIn(agent, 'anna', password);
    const page = await agent.get('/verify').expect(200);
    let locked;
    for (let attempt = 0; attempt < 3; attempt++) {
      locked = await post(agent, '/verify', page.text, { method: 'app', code: '000000' });
    }
    expect(locked?.status).toBe(403);
    expect(locked?.text).toContain('Probeer het over 1 minuut opnieuw');
    await agent.get('/verify?lng=en');
    const english = await post(agent, '/verify', page.text, { method: 'app', code: '000000' });
    expect(english.text).toContain('Try again in 1 minute, or');
  });

  it('audits each attempt with the client address, and unknown usernames too', async () => {
    await signIn(browserAgent(portal), 'jan.jansen', 'bad guess');
    await signIn(browserAgent(portal), 'jan.jansen', password);
    await signIn(browserAgent(portal), 'ghost', 'bad guess');
    const user = await accountOf(portal.services, 'jan.jansen');
    const events = await passwordEvents(user.id);
    expect(events.map((e) => [e.type, e.result, e.reason])).toEqual([
      ['sign-in.password', 'success', null],
      ['sign-in.password', 'failure', 'invalid'],
    ]);
    // IPv4 over a dual-stack socket, recorded in its plain form, not as ::ffff:127.0.0.1.
    expect(events[0]?.clientIp).toBe('127.0.0.1');
    const ghost = (await passwordEvents()).find((e) => e.username === 'ghost');
    expect(ghost).toMatchObject({ result: 'failure', reason: 'unknown user', userId: null });
    // Every column of every record as stored, beyond what a report shows: no secret in any.
    const all = JSON.stringify(
      await portal.services.database.db.selectFrom('audit_events').selectAll().execute(),
    );
    expect(all).not.toContain(password);
    expect(all).not.toContain('bad guess');
  });

  it('resets the failure count after a successful sign-in', async () => {
    await signIn(browserAgent(portal), 'jan.jansen', 'bad guess');
    await signIn(browserAgent(portal), 'jan.jansen', 'bad guess');
    expect((await signIn(browserAgent(portal), 'jan.jansen', password)).status).toBe(303);
    await signIn(browserAgent(portal), 'jan.jansen', 'bad guess');
    await signIn(browserAgent(portal), 'jan.jansen', 'bad guess');
    expect((await signIn(browserAgent(portal), 'jan.jansen', password)).status).toBe(303);
  });

  it('signs out by destroying the session: the old cookie no longer works', async () => {
    const agent = browserAgent(portal);
    const signedIn = await signIn(agent, 'jan.jansen', password);
    const cookie = sessionCookie(signedIn) ?? '';
    const account = await agent.get('/account').expect(200);

    const out = await agent
      .post('/sign-out')
      .type('form')
      .send({ _csrf: csrfTokenFrom(account.text) })
      .expect(303);
    expect(out.headers.location).toBe('/sign-in?signedOut');
    expect((await agent.get('/sign-in?signedOut')).text).toContain('You have signed out.');

    const replay = await browserAgent(portal).get('/account').set('Cookie', cookie);
    expect(replay.status).toBe(302);
    expect(replay.headers.location).toBe('/sign-in');
  });

  it('asks for missing fields with an error summary linking to each field', async () => {
    const agent = browserAgent(portal);
    const page = await agent.get('/sign-in');
    const response = await agent
      .post('/sign-in')
      .type('form')
      .send({ _csrf: csrfTokenFrom(page.text), username: '', password: '' })
      .expect(400);
    expect(response.text).toContain('<a href="#username">Enter your username</a>');
    expect(response.text).toContain('<a href="#password">Enter your password</a>');
  });

  it.each([
    ['an unknown field', { username: 'jan.jansen', password, isAdmin: 'true' }, 400],
    ['a repeated field', 'username=a&username=b&password=x', 400],
    ['an oversized body', { username: 'x'.repeat(20_000), password }, 413],
  ])('answers %s with a clear 4xx page and signs nobody in', async (_name, body, status) => {
    const agent = browserAgent(portal);
    const page = await agent.get('/sign-in');
    const token = csrfTokenFrom(page.text);
    const payload =
      typeof body === 'string'
        ? `${body}&_csrf=${encodeURIComponent(token)}`
        : { ...body, _csrf: token };
    const response = await agent.post('/sign-in').type('form').send(payload);
    expect(response.status).toBe(status);
    expect(response.text).toContain('<h1>');
    expect(response.text).not.toMatch(/at .*\.ts:\d+/);
    expect((await agent.get('/account')).status).toBe(302);
  });

  it('keeps /admin for administrators', async () => {
    await createUser(portal, 'helpdesk', password, 'admin');
    const user = browserAgent(portal);
    await signIn(user, 'jan.jansen', password);
    const refused = await user.get('/admin').expect(403);
    expect(refused.text).toContain('You do not have access to this page');

    const admin = browserAgent(portal);
    await signIn(admin, 'helpdesk', password);
    const home = await admin.get('/admin').expect(200);
    expect(home.text).toContain('You are signed in as administrator helpdesk display.');
    expect((await browserAgent(portal).get('/admin')).headers.location).toBe('/sign-in');
  });
});

describe('session timeouts (SPEC S2)', () => {
  async function ageSession(field: 'lastSeenAt' | 'signedInAt', byMs: number) {
    // Sessions made older than they are: no request can date one back.
    const { db } = portal.services.database;
    const rows = await db.selectFrom('sessions').selectAll().execute();
    for (const row of rows) {
      const data = JSON.parse(row.data) as Record<string, unknown>;
      const value = data[field];
      if (typeof value !== 'number') continue;
      data[field] = value - byMs;
      await db
        .updateTable('sessions')
        .set({ data: JSON.stringify(data) })
        .where('sid', '=', row.sid)
        .execute();
    }
  }

  it('ends a session idle longer than SESSION_IDLE_MINUTES with the session-expired page', async () => {
    const agent = browserAgent(portal);
    await signIn(agent, 'jan.jansen', password);
    await agent.get('/account').expect(200);
    await ageSession('lastSeenAt', 19 * 60_000);
    await agent.get('/account').expect(200);
    await ageSession('lastSeenAt', 21 * 60_000);
    const expired = await agent.get('/account').expect(401);
    expect(expired.text).toContain('Your session has expired');
    expect((await agent.get('/account')).status).toBe(302);
  });

  it('tells a signed-in user how long the session lasts without activity (SPEC L4)', async () => {
    const notice = /<p>[^<]*(?:session ends|sessie stopt|session prend fin)[^<]*<\/p>/;
    const agent = browserAgent(portal);
    expect((await agent.get('/sign-in')).text).not.toMatch(notice);
    await signIn(agent, 'jan.jansen', password);
    expect((await agent.get('/account?lng=nl')).text).toContain(
      'Voor uw veiligheid wordt u na 20 minuten zonder activiteit automatisch afgemeld.',
    );

    const brief = await createTestPortal({ SESSION_IDLE_MINUTES: '1' });
    try {
      await trustLoopback(brief);
      await createUser(brief, 'jan.jansen', password);
      const briefAgent = browserAgent(brief);
      await signIn(briefAgent, 'jan.jansen', password);
      expect((await briefAgent.get('/account?lng=fr')).text).toContain(
        'votre session prend fin après 1 minute d’inactivité',
      );
    } finally {
      await brief.close();
    }
  });

  it('ends a session older than SESSION_ABSOLUTE_HOURS even when active', async () => {
    const agent = browserAgent(portal);
    await signIn(agent, 'jan.jansen', password);
    await ageSession('signedInAt', 8 * 3_600_000 + 1000);
    expect((await agent.get('/account')).status).toBe(401);
  });
});

describe('sign-in rate limit (SPEC S5)', () => {
  it('answers 429 once an address exceeds RATE_LIMIT_SIGNIN_MAX attempts', async () => {
    const limited = await createTestPortal({ RATE_LIMIT_SIGNIN_MAX: '3' });
    try {
      const agent = browserAgent(limited);
      const token = csrfTokenFrom((await agent.get('/sign-in')).text);
      const attempt = () =>
        agent.post('/sign-in').type('form').send({ _csrf: token, username: 'x', password: 'y' });
      for (let i = 0; i < 3; i++) expect((await attempt()).status).toBe(400);
      const refused = await attempt();
      expect(refused.status).toBe(429);
      expect(refused.text).toContain('Too many attempts');
    } finally {
      await limited.close();
    }
  });
});

describe('rate limit on codes and answers (SPEC S5)', () => {
  it('answers 429 once an address has RATE_LIMIT_CODES_MAX refused forms, across accounts', async () => {
    const limited = await createTestPortal({
      RATE_LIMIT_SIGNIN_MAX: '1000',
      RATE_LIMIT_CODES_MAX: '3',
    });
    try {
      const secrets = {
        anna: await createAppUser(limited.services, 'anna', accountPassword),
        bram: await createAppUser(limited.services, 'bram', accountPassword),
      };
      /** A new session at the second step of that user, and its form. */
      const atSecondStep = async (username: keyof typeof secrets) => {
        const agent = browserAgent(limited);
        await signIn(agent, username, accountPassword);
        return { agent, page: (await agent.get('/verify').expect(200)).text };
      };
      const anna = await atSecondStep('anna');
      const wrong = { method: 'app', code: '000000' };
      expect((await post(anna.agent, '/verify', anna.page, wrong)).status).toBe(400);
      expect((await post(anna.agent, '/verify', anna.page, wrong)).status).toBe(400);
      // A right code does not count: the person who gets it right is never held up.
      const bram = await atSecondStep('bram');
      const right = { method: 'app', code: appCode(secrets.bram) };
      expect((await post(bram.agent, '/verify', bram.page, right)).status).toBe(303);
      const bramAgain = await atSecondStep('bram');
      expect((await post(bramAgain.agent, '/verify', bramAgain.page, wrong)).status).toBe(400);

      // Three refusals from this address, over two accounts: the next form is not even tried.
      const refused = await post(anna.agent, '/verify', anna.page, {
        method: 'app',
        code: appCode(secrets.anna),
      });
      expect(refused.status).toBe(429);
      expect(refused.text).toContain('Too many attempts');
      // Nor by another spelling of the path, which Express would route all the same.
      for (const path of ['/VERIFY', '/Verify/']) {
        expect((await post(anna.agent, path, anna.page, wrong)).status).toBe(429);
      }
      const annaAccount = await accountOf(limited.services, 'anna');
      expect(annaAccount.failedAttempts).toBe(2);
      expect(annaAccount.lockedUntil).toBeNull();
    } finally {
      await limited.close();
    }
  });
});

describe('recent activity on My account (SPEC J3)', () => {
  it('lists the sign-ins with time, method, result and address, in the page language', async () => {
    await signIn(browserAgent(portal), 'jan.jansen', 'bad guess');
    const agent = browserAgent(portal);
    await agent.get('/sign-in?lng=nl');
    await signIn(agent, 'jan.jansen', password);
    const page = await agent.get('/account').expect(200);
    expect(page.text).toContain('<h2 id="activity-title">Recente activiteit</h2>');
    const rows = [...page.text.matchAll(/<tr>\s*<td><time datetime="([^"]+)">[\s\S]*?<\/tr>/g)];
    // The two sign-ins, newest first, after the helpdesk created the account.
    expect(rows).toHaveLength(3);
    expect(rows[0]?.[0]).toContain('Gelukt');
    expect(rows[1]?.[0]).toContain('Mislukt');
    expect(rows[2]?.[0]).toContain('Overig');
    expect(rows[0]?.[0]).toMatch(/>127\.0\.0\.1</);
    expect(Date.parse(rows[0]?.[1] ?? '')).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe('language saved on the account (SPEC J5)', () => {
  it('switches the page with ?lng= without saving it; the saved language follows the user elsewhere', async () => {
    const agent = browserAgent(portal);
    await signIn(agent, 'jan.jansen', password);
    // The first sign-in kept the language of the sign-in page; a switch afterwards saves nothing.
    expect((await accountOf(portal.services, 'jan.jansen')).language).toBe('en');
    const french = await agent.get('/account?lng=fr').expect(200);
    expect(french.text).toContain('<html lang="fr">');
    expect((await accountOf(portal.services, 'jan.jansen')).language).toBe('en');
    await post(agent, '/account/language', french.text, { language: 'fr' }).expect(303);
    expect((await accountOf(portal.services, 'jan.jansen')).language).toBe('fr');

    // Another browser, asking for Dutch but with no choice of its own: the account's wins.
    const other = browserAgent(portal);
    await other.get('/sign-in').set('Accept-Language', 'nl').expect(200);
    await signIn(other, 'jan.jansen', password);
    const account = await other.get('/account').set('Accept-Language', 'nl').expect(200);
    expect(account.text).toContain('<html lang="fr">');
    expect(account.headers['content-language']).toBe('fr');
  });

  it('neither saves nor offers to save the choice when administrators turned language selection off', async () => {
    await changeSettings(portal.services, { allowSelectLanguage: false });
    const agent = browserAgent(portal);
    await signIn(agent, 'jan.jansen', password);
    const dutch = await agent.get('/account?lng=nl').expect(200);
    expect(dutch.text).toContain('<html lang="nl">');
    expect(dutch.text).not.toContain('action="/account/language"');
    expect((await accountOf(portal.services, 'jan.jansen')).language).toBeNull();
  });
});
