import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeBase32, hotp } from '../../src/core/otp.ts';
import {
  browserAgent,
  createTestPortal,
  createUser,
  csrfTokenFrom,
  signIn,
  type TestPortal,
  changeSettings,
} from '../helpers/app.ts';
import { appCode, enrolApp, post, questionIdsFrom, secretFrom } from '../helpers/two-step.ts';
import { accountOf } from '../helpers/account.ts';
import { cliContext, userContext, visitorContext } from '../helpers/context.ts';

const password = 'correct horse battery';
let portal: TestPortal;

beforeEach(async () => {
  portal = await createTestPortal({ RATE_LIMIT_SIGNIN_MAX: '1000' });
  await createUser(portal, 'lotte', password);
});
afterEach(async () => {
  await portal.close();
});

const userId = async () => (await accountOf(portal.services, 'lotte')).id;
const devicesOfLotte = async () => (await accountOf(portal.services, 'lotte')).devices;
/** The questions User Setup offers Lotte in English, in the order of its page. */
const questionsInEnglish = async () => {
  const id = await userId();
  return (await portal.services.mfa.enrolment.questions(userContext(id), { userId: id })).questions;
};
const cookieOf = (response: { headers: Record<string, unknown> }) =>
  ((response.headers['set-cookie'] ?? []) as string[])
    .find((c) => c.startsWith('mfa.sid='))
    ?.split(';')[0];

describe('User Setup with the mobile app (SPEC J2, M3)', () => {
  it('walks from the password to a saved enrolment, and only then signs the user in', async () => {
    const agent = browserAgent(portal);
    const signedIn = await signIn(agent, 'lotte', password);
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.location).toBe('/setup');
    await agent.get('/account').expect(302);

    const choose = await agent.get('/setup').expect(200);
    expect(choose.text).toContain('value="app"');
    expect(choose.text).toContain('value="token"');
    await post(agent, '/setup', choose.text, { method: 'fax' }).expect(400);
    const chosen = await post(agent, '/setup', choose.text, { method: 'app' }).expect(303);
    expect(chosen.headers.location).toBe('/setup/app');

    const intro = await agent.get('/setup/app').expect(200);
    expect(intro.text).toContain('Generate activation code');
    await post(agent, '/setup/app/generate', intro.text, {}).expect(303);
    const activation = await agent.get('/setup/app').expect(200);
    expect(activation.text).toMatch(
      /<img class="qr" src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+"/,
    );
    expect(activation.text).toContain('otpauth://totp/MFA%20Portal:lotte?secret=');
    const secret = secretFrom(activation.text);
    expect(/<code class="secret">([^<]+)<\/code>/.exec(activation.text)?.[1]).toMatch(
      /^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$/,
    );
    expect(activation.text).toContain('autocomplete="one-time-code"');

    const wrong = await post(agent, '/setup/app', activation.text, { code: '000000' });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('The code is not correct');
    const malformed = await post(agent, '/setup/app', activation.text, { code: '12ab' });
    expect(malformed.text).toContain('Enter the code as 6 digits');

    await post(agent, '/setup/app', activation.text, { code: appCode(secret) }).expect(303);
    // Proven, but nothing is saved before the last step.
    expect(await devicesOfLotte()).toEqual([]);

    const questions = await agent.get('/setup/questions').expect(200);
    const ids = questionIdsFrom(questions.text);
    expect(ids.length).toBeGreaterThanOrEqual(8);
    const duplicate = await post(agent, '/setup/questions', questions.text, {
      question0: ids[0] ?? '',
      answer0: 'a',
      question1: ids[0] ?? '',
      answer1: 'b',
      question2: ids[2] ?? '',
      answer2: '',
      question3: 'made-up',
      answer3: 'd',
    });
    expect(duplicate.status).toBe(400);
    expect(duplicate.text).toContain('Question 2: choose a question you have not chosen already');
    expect(duplicate.text).toContain('<a href="#answer2">Enter an answer to question 3</a>');
    expect(duplicate.text).toContain('<a href="#question3">Choose question 4</a>');

    const before = cookieOf(signedIn);
    const done = await post(agent, '/setup/questions', questions.text, {
      question0: ids[0] ?? '',
      answer0: 'Rex',
      question1: ids[1] ?? '',
      answer1: 'Utrecht',
      question2: ids[2] ?? '',
      answer2: 'De Regenboog',
      question3: ids[3] ?? '',
      answer3: 'Pieter',
    }).expect(303);
    expect(done.headers.location).toBe('/account?enrolled');
    expect(cookieOf(done)).not.toBe(before);
    const account = await agent.get('/account?enrolled').expect(200);
    expect(account.text).toContain('Two-step verification is set up.');
    expect(account.text).toContain('Mobile app 1');

    const saved = await accountOf(portal.services, 'lotte');
    expect(saved.devices).toMatchObject([{ kind: 'app', otpType: 'totp', digits: 6, period: 30 }]);
    expect(saved.answeredQuestions).toBe(4);
    // The sealed seed and the answers' hashes as stored: no interface call shows them.
    const { db } = portal.services.database;
    const device = await db.selectFrom('devices').selectAll().executeTakeFirstOrThrow();
    expect(device.secret.startsWith('v1.')).toBe(true);
    expect(device.secret).not.toContain(encodeBase32(secret));
    const answers = await db.selectFrom('security_answers').selectAll().execute();
    expect(JSON.stringify(answers)).not.toMatch(/Utrecht|utrecht/);
    const audit = await portal.services.mfa.administration.auditEvents(cliContext, {
      userId: saved.id,
    });
    expect(audit.map((e) => e.type)).toContain('enrolment');
  });

  it('saves nothing when the user leaves half-way, and starts over next time', async () => {
    const agent = browserAgent(portal);
    await signIn(agent, 'lotte', password);
    const intro = await agent.get('/setup/app');
    await post(agent, '/setup/app/generate', intro.text, {}).expect(303);
    const activation = await agent.get('/setup/app');
    await post(agent, '/setup/app', activation.text, {
      code: appCode(secretFrom(activation.text)),
    }).expect(303);

    const again = await signIn(browserAgent(portal), 'lotte', password);
    expect(again.headers.location).toBe('/setup');
    expect(await devicesOfLotte()).toEqual([]);
  });

  it('ends the setup in progress with "Cancel sign-in": its draft with the new seed goes', async () => {
    const agent = browserAgent(portal);
    await signIn(agent, 'lotte', password);
    const intro = await agent.get('/setup/app');
    await post(agent, '/setup/app/generate', intro.text, {}).expect(303);
    // The core's drafts: only the session knows the id the interface would ask for.
    const { db } = portal.services.database;
    expect(await db.selectFrom('drafts').select('kind').execute()).toEqual([{ kind: 'enrolment' }]);
    const activation = await agent.get('/setup/app').expect(200);
    expect(activation.text).toContain('Cancel sign-in');
    const out = await post(agent, '/sign-out', activation.text, {}).expect(303);
    expect(out.headers.location).toBe('/sign-in?signedOut');
    expect(await db.selectFrom('drafts').selectAll().execute()).toEqual([]);
  });

  it('asks for a compliant PIN in PIN mode and then for the PIN at every sign-in', async () => {
    await changeSettings(portal.services, { appMode: 'pin' });
    await changeSettings(portal.services, { useSecurityQuestions: false });
    const agent = browserAgent(portal);
    await signIn(agent, 'lotte', password);
    const intro = await agent.get('/setup/app');
    await post(agent, '/setup/app/generate', intro.text, {});
    const activation = await agent.get('/setup/app');
    const secret = secretFrom(activation.text);
    const weak = await post(agent, '/setup/app', activation.text, {
      code: appCode(secret),
      pin: '1234',
      pinConfirmation: '1234',
    });
    expect(weak.status).toBe(400);
    expect(weak.text).toContain('Your PIN cannot be a series such as 1234 or 4321');
    const mismatch = await post(agent, '/setup/app', activation.text, {
      code: appCode(secret),
      pin: '8264',
      pinConfirmation: '8265',
    });
    expect(mismatch.text).toContain('The two PINs are not the same');
    const done = await post(agent, '/setup/app', activation.text, {
      code: appCode(secret),
      pin: '8264',
      pinConfirmation: '8264',
    }).expect(303);
    expect(done.headers.location).toBe('/account?enrolled');

    const next = browserAgent(portal);
    await signIn(next, 'lotte', password);
    const page = await next.get('/verify').expect(200);
    expect(page.text).toContain('name="pin"');
    const noPin = await post(next, '/verify', page.text, {
      method: 'app',
      code: appCode(secret, 1),
      pin: '',
    });
    expect(noPin.text).toContain('Enter your PIN');
    const wrongPin = await post(next, '/verify', page.text, {
      method: 'app',
      code: appCode(secret, 1),
      pin: '1111',
    });
    expect(wrongPin.text).toContain('The code or PIN is not correct');
    await post(next, '/verify', page.text, {
      method: 'app',
      code: appCode(secret, 1),
      pin: '8264',
    }).expect(303);
  });
});

describe('second step at sign-in (SPEC J1, M8, S6)', () => {
  async function enrolled() {
    const agent = browserAgent(portal);
    await signIn(agent, 'lotte', password);
    return enrolApp(agent);
  }

  it('asks for a code, refuses a replayed one, accepts a fresh one and changes the session id', async () => {
    const secret = await enrolled();
    const agent = browserAgent(portal);
    const first = await signIn(agent, 'lotte', password);
    expect(first.headers.location).toBe('/verify');
    const page = await agent.get('/verify').expect(200);
    expect(page.text).toContain('Enter the code from your app');
    await agent.get('/account').expect(302);

    // The code of this time step was spent proving the app during setup.
    const replay = await post(agent, '/verify', page.text, {
      method: 'app',
      code: appCode(secret),
    });
    expect(replay.status).toBe(400);
    expect(replay.text).toContain('has been used already');

    const ok = await post(agent, '/verify', page.text, {
      method: 'app',
      code: appCode(secret, 1),
    }).expect(303);
    expect(ok.headers.location).toBe('/account');
    expect(cookieOf(ok)).not.toBe(cookieOf(first));
    await agent.get('/account').expect(200);
    // SPEC S2: the session of the password step is gone, not merely left behind.
    const pending = await browserAgent(portal)
      .get('/verify')
      .set('Cookie', cookieOf(first) ?? '');
    expect(pending.headers.location).toBe('/sign-in');
    // The cookie holds `s:<id>.<signature>`.
    const sidOf = (cookie: string | undefined) =>
      decodeURIComponent(cookie?.split('=')[1] ?? '')
        .slice(2)
        .split('.')[0] ?? '';
    const stored = await portal.services.database.db
      .selectFrom('sessions')
      .select('sid')
      .where('sid', 'in', [sidOf(cookieOf(first)), sidOf(cookieOf(ok))])
      .execute();
    expect(stored.map((row) => row.sid)).toEqual([sidOf(cookieOf(ok))]);

    const again = browserAgent(portal);
    await signIn(again, 'lotte', password);
    const secondPage = await again.get('/verify');
    const reused = await post(again, '/verify', secondPage.text, {
      method: 'app',
      code: appCode(secret, 1),
    });
    expect(reused.status).toBe(400);
  });

  it('falls back to security questions, compared without regard to case, accents or spaces', async () => {
    await enrolled();
    const agent = browserAgent(portal);
    await signIn(agent, 'lotte', password);
    const codePage = await agent.get('/verify');
    expect(codePage.text).toContain('href="/verify/questions"');
    // SPEC L4: the second step says how long it may take after the password.
    expect(codePage.text).toContain(
      'For your security, you have 15 minutes after entering your password to finish signing in.',
    );
    const page = await agent.get('/verify/questions').expect(200);
    // The questions are numbered, so that the error summary can say which one it means.
    const labelsOf = (html: string) =>
      [...html.matchAll(/<label for="answer\d">\d\. ([^<]+)<\/label>/g)].map((m) => m[1]);
    const labels = labelsOf(page.text);
    expect(labels).toHaveLength(2);
    // The same questions come back until they are answered, in this session and in a new
    // sign-in: no re-rolling for easier ones.
    expect(labelsOf((await agent.get('/verify/questions')).text)).toEqual(labels);
    const again = browserAgent(portal);
    await signIn(again, 'lotte', password);
    expect(labelsOf((await again.get('/verify/questions')).text)).toEqual(labels);

    const questions = await questionsInEnglish();
    const given: Record<string, string> = {};
    const original: Record<string, string> = {
      [questions[0]?.text ?? '']: '  REX ',
      [questions[1]?.text ?? '']: 'útrecht',
      [questions[2]?.text ?? '']: 'de  regenboog',
      [questions[3]?.text ?? '']: 'PIETER',
    };
    labels.forEach((label, i) => (given[`answer${i}`] = original[label ?? ''] ?? 'unknown'));
    const wrong = await post(agent, '/verify/questions', page.text, {
      answer0: 'nope',
      answer1: 'nope',
    });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('One or more answers are not correct.');
    await post(agent, '/verify/questions', page.text, given).expect(303);
    await agent.get('/account').expect(200);
  });

  it('locks the account after the threshold of wrong codes, across sessions, without more detail', async () => {
    await enrolled();
    for (let attempt = 0; attempt < 5; attempt++) {
      const agent = browserAgent(portal);
      await signIn(agent, 'lotte', password);
      const page = await agent.get('/verify');
      const response = await post(agent, '/verify', page.text, { method: 'app', code: '000000' });
      expect(response.status).toBe(attempt < 4 ? 400 : 403);
    }
    // Now even the right password reads as a wrong one, and leads nowhere (SPEC S4).
    const agent = browserAgent(portal);
    const signedIn = await signIn(agent, 'lotte', password);
    expect(signedIn.status).toBe(400);
    expect(signedIn.text).toContain('The username or password is not correct');
    await agent.get('/verify').expect(302);
    expect((await accountOf(portal.services, 'lotte')).lockedUntil).toBeGreaterThan(Date.now());
  });

  it('lets a trusted IP skip the second step, and only a trusted one', async () => {
    await enrolled();
    await changeSettings(portal.services, { trustedIps: ['10.0.0.0/8'] });
    expect((await signIn(browserAgent(portal), 'lotte', password)).headers.location).toBe(
      '/verify',
    );
    await changeSettings(portal.services, { trustedIps: ['127.0.0.0/8', '::1'] });
    expect((await signIn(browserAgent(portal), 'lotte', password)).headers.location).toBe(
      '/account',
    );
  });

  it('sends a user without a method to the helpdesk when self-enrolment is off', async () => {
    await changeSettings(portal.services, { allowEnrollment: false });
    const agent = browserAgent(portal);
    const response = await signIn(agent, 'lotte', password);
    expect(response.headers.location).toBe('/not-enrolled');
    const page = await agent.get('/not-enrolled').expect(403);
    expect(page.text).toContain('Two-step verification is not set up');
    await agent.get('/account').expect(302);
  });
});

describe('a session between the password and the second factor (SPEC S2)', () => {
  const minute = 60_000;
  /** Moves the portal's clock (and the test's) on, with the session's requests in between. */
  async function later<T>(ms: number, then: () => Promise<T>): Promise<T> {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + ms);
      return await then();
    } finally {
      vi.useRealTimers();
    }
  }

  it('ends 15 minutes after the password however active, in the second step and in User Setup', async () => {
    const enrolling = browserAgent(portal);
    expect((await signIn(enrolling, 'lotte', password)).headers.location).toBe('/setup');
    await later(14 * minute, async () => {
      await enrolling.get('/setup').expect(200);
    });
    await later(15 * minute + 1000, async () => {
      const expired = await enrolling.get('/setup').expect(401);
      expect(expired.text).toContain('Your session has expired');
      expect((await enrolling.get('/setup')).headers.location).toBe('/sign-in');
    });

    const enrolled = browserAgent(portal);
    await signIn(enrolled, 'lotte', password);
    const secret = await enrolApp(enrolled);
    const verifying = browserAgent(portal);
    expect((await signIn(verifying, 'lotte', password)).headers.location).toBe('/verify');
    const page = await later(14 * minute, () => verifying.get('/verify').expect(200));
    await later(15 * minute + 1000, async () => {
      // Even the right code: the session it would sign in has ended.
      const expired = await post(verifying, '/verify', page.text, {
        method: 'app',
        code: appCode(secret),
      }).expect(401);
      expect(expired.text).toContain('Your session has expired');
      expect((await verifying.get('/account')).headers.location).toBe('/sign-in');
    });
  });
});

describe('the second step behind the MfaService (SPEC §2, M6, M8)', () => {
  const asUser = (id: string) => ({
    ...visitorContext,
    actor: { kind: 'user' as const, userId: id },
  });

  it('offers plain data, and counts answers to fewer questions than asked for as wrong', async () => {
    const agent = browserAgent(portal);
    await signIn(agent, 'lotte', password);
    await enrolApp(agent);
    const id = await userId();
    const { secondStep, signIn: first } = portal.services.mfa;
    const journey = await first.journey(asUser(id), { userId: undefined, pendingUserId: id });
    expect(journey.stage === 'second-step' && journey.secondStep).toEqual({
      methods: ['app'],
      preferred: 'app',
      questions: true,
      codeDigits: { app: [6], token: [] },
      appPin: false,
      maskedNumbers: { phone: null, sms: null },
    });
    const asked = await secondStep.questionsToAsk(asUser(id), { userId: id });
    expect(asked).toHaveLength(2);
    // The pick is kept on the account: asking again, as a new sign-in would, re-rolls nothing.
    for (let i = 0; i < 5; i++) {
      expect(await secondStep.questionsToAsk(asUser(id), { userId: id })).toEqual(asked);
    }

    // enrolApp answered the first four questions of the set-up page, in order.
    const questions = await questionsInEnglish();
    const given = ['Rex', 'Utrecht', 'De Regenboog', 'Pieter'];
    const right = asked.map((q) => ({
      questionId: q.id,
      answer: given[questions.findIndex((known) => known.id === q.id)] ?? '',
    }));
    const check = (answers: typeof right) =>
      secondStep.checkAnswers(asUser(id), { userId: id, purpose: 'sign-in.second-step', answers });
    expect(await check(right.slice(0, 1))).toEqual({ outcome: 'invalid' });
    expect(await check([...right.slice(0, 1), ...right.slice(0, 1)])).toEqual({
      outcome: 'invalid',
    });
    // Right answers to two other questions than the ones picked count as wrong.
    const others = questions
      .map((q, i) => ({ questionId: q.id, answer: given[i] ?? '' }))
      .slice(0, 4)
      .filter((a) => !asked.some((q) => q.id === a.questionId));
    expect(others).toHaveLength(2);
    expect(await check(others)).toEqual({ outcome: 'invalid' });
    expect((await accountOf(portal.services, 'lotte')).failedAttempts).toBe(3);
    expect(await check(right)).toEqual({ outcome: 'success' });
    expect((await accountOf(portal.services, 'lotte')).failedAttempts).toBe(0);

    await changeSettings(portal.services, { useSecurityQuestions: false });
    await expect(secondStep.questionsToAsk(asUser(id), { userId: id })).rejects.toMatchObject({
      code: 'not-found',
    });
  });
});

describe('User Setup with an OATH token (SPEC M4)', () => {
  /** The counter the core keeps for the token: no interface call shows it. */
  const tokenCounter = async () =>
    (
      await portal.services.database.db
        .selectFrom('devices')
        .select('counter')
        .executeTakeFirstOrThrow()
    ).counter;
  const tokenSecret = Buffer.from('3132333435363738393031323334353637383930', 'hex');

  it('associates an HOTP token proven with a current code, then follows its counter', async () => {
    await changeSettings(portal.services, { useSecurityQuestions: false });
    const agent = browserAgent(portal);
    await signIn(agent, 'lotte', password);
    const form = await agent.get('/setup/token').expect(200);
    const fields = {
      serial: 'OATH-0001',
      secret: encodeBase32(tokenSecret)
        .toLowerCase()
        .replace(/(.{4})/g, '$1 '),
      otpType: 'hotp',
      digits: '6',
      period: '30',
      algorithm: 'SHA1',
    };
    const bad = await post(agent, '/setup/token', form.text, {
      ...fields,
      secret: 'not base32!',
      code: '',
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('The secret key must be Base32');
    expect(bad.text).toContain('Enter the code');
    expect(bad.text).not.toContain('not base32!');
    const unknown = await post(agent, '/setup/token', form.text, {
      ...fields,
      code: '755224',
      admin: '1',
    });
    expect(unknown.status).toBe(400);

    const params = { algorithm: 'SHA1', digits: 6 } as const;
    await post(agent, '/setup/token', form.text, {
      ...fields,
      code: hotp(tokenSecret, 0, params),
    }).expect(303);
    expect(await devicesOfLotte()).toMatchObject([
      { kind: 'token', serial: 'OATH-0001', otpType: 'hotp' },
    ]);
    expect(await tokenCounter()).toBe(1);

    const next = browserAgent(portal);
    await signIn(next, 'lotte', password);
    const page = await next.get('/verify').expect(200);
    expect(page.text).toContain('Enter the code from your token');
    const replay = await post(next, '/verify', page.text, {
      method: 'token',
      code: hotp(tokenSecret, 0, params),
    });
    expect(replay.status).toBe(400);
    // The user pressed the button a few times without signing in: still inside the look-ahead.
    await post(next, '/verify', page.text, {
      method: 'token',
      code: hotp(tokenSecret, 4, params),
    }).expect(303);
    expect(await tokenCounter()).toBe(5);
  });

  it('is not offered when the administrator turned tokens off', async () => {
    await changeSettings(portal.services, { allowOathToken: false });
    const agent = browserAgent(portal);
    await signIn(agent, 'lotte', password);
    const choose = await agent.get('/setup');
    expect(choose.status).toBe(302);
    expect(choose.headers.location).toBe('/setup/app');
    await agent.get('/setup/token').expect(404);
    const page = await agent.get('/setup/app');
    const refused = await agent
      .post('/setup/token')
      .type('form')
      .send({
        _csrf: csrfTokenFrom(page.text),
        serial: 'x',
        secret: 'x',
        otpType: 'totp',
        digits: '6',
        period: '30',
        algorithm: 'SHA1',
        code: '123456',
      });
    expect(refused.status).toBe(404);
  });
});

describe('security questions asked in another language than the page', () => {
  it('marks each label with the language the question was answered in (WCAG 3.1.2)', async () => {
    const agent = browserAgent(portal);
    await agent.get('/sign-in?lng=nl');
    await signIn(agent, 'lotte', password);
    await enrolApp(agent);
    const french = browserAgent(portal);
    await french.get('/sign-in?lng=fr');
    await signIn(french, 'lotte', password);
    const page = await french.get('/verify/questions').expect(200);
    expect(page.text).toContain('<html lang="fr">');
    expect(page.text).toMatch(/<label for="answer0" lang="nl">/);
  });
});

describe('one-time bypass at sign-in (SPEC J1, M7)', () => {
  async function enrolledUser() {
    const agent = browserAgent(portal);
    await signIn(agent, 'lotte', password);
    await enrolApp(agent);
    return accountOf(portal.services, 'lotte');
  }

  const issue = (userId: string, seconds: number) =>
    portal.services.mfa.administration.issueBypass(cliContext, {
      userId,
      seconds,
      reason: 'phone lost',
    });

  it('skips the second step once, within its seconds, and is audited', async () => {
    const user = await enrolledUser();
    await issue(user.id, 300);
    const first = await signIn(browserAgent(portal), 'lotte', password);
    expect(first.headers.location).toBe('/account');
    const second = await signIn(browserAgent(portal), 'lotte', password);
    expect(second.headers.location).toBe('/verify');
    const types = (
      await portal.services.mfa.administration.auditEvents(cliContext, { userId: user.id })
    ).map((e) => e.type);
    expect(types).toContain('bypass.issued');
    expect(types.filter((t) => t === 'bypass.used')).toHaveLength(1);
  });

  it('is not honoured after its seconds, nor after a wrong password', async () => {
    const user = await enrolledUser();
    await issue(user.id, 1);
    expect((await signIn(browserAgent(portal), 'lotte', 'wrong password')).status).toBe(400);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await signIn(browserAgent(portal), 'lotte', password)).headers.location).toBe(
      '/verify',
    );
  });

  it('keeps only the newest bypass and refuses impossible lengths', async () => {
    const user = await enrolledUser();
    await issue(user.id, 300);
    const { expiresAt } = await issue(user.id, 600);
    const { bypass } = await portal.services.mfa.account.overview(userContext(user.id), {
      userId: user.id,
    });
    expect(bypass?.expiresAt).toBe(expiresAt);
    await expect(issue(user.id, 0)).rejects.toThrow(RangeError);
    await expect(issue(user.id, 86_401)).rejects.toThrow(RangeError);
  });
});
