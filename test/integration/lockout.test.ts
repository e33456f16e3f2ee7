import { randomInt } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  browserAgent,
  createTestPortal,
  createUser,
  signIn,
  type TestPortal,
  changeSettings,
} from '../helpers/app.ts';
import { accountOf, accountPassword, editUser, enrolWithApp } from '../helpers/account.ts';
import { cliContext } from '../helpers/context.ts';
import { appCode, post } from '../helpers/two-step.ts';

/*
 * SPEC M8, S5: every attempt is counted before its check, in one statement of the database, so
 * that parallel requests cannot get more checks (each an Argon2 hash for passwords, PINs and
 * answers) past the lockout than the threshold allows. The checks that ran are read back from
 * the audit: 'invalid' is a wrong secret that was hashed, 'locked' an attempt refused unchecked.
 */

const threshold = 5;
const parallel = 20;
let portal: TestPortal;

beforeEach(async () => {
  portal = await createTestPortal({
    RATE_LIMIT_SIGNIN_MAX: '1000',
    RATE_LIMIT_CODES_MAX: '1000',
    SIMULATOR_ENABLED: 'true',
  });
  await changeSettings(portal.services, { lockoutThreshold: threshold });
});
afterEach(async () => {
  await portal.close();
});

type Agent = ReturnType<typeof browserAgent>;

/** The account as the helpdesk sees it (SPEC A2): its lock and its failures in a row. */
const userRow = (username: string) => accountOf(portal.services, username);

const isLocked = async (username: string) =>
  ((await userRow(username)).lockedUntil ?? 0) > Date.now();

/** The hourly count of failures (SPEC M8): the core keeps it, no interface call shows it. */
async function hourlyFailures(username: string) {
  const row = await portal.services.users.findByUsername(username);
  return row?.failure_window_count;
}

/** The user's audit records of a type (SPEC A4), as many as a race leaves. */
async function auditOf(username: string, type: string) {
  const { id: userId } = await userRow(username);
  return portal.services.mfa.administration.auditEvents(cliContext, {
    userId,
    type,
    limit: 1000,
  });
}

/** How many attempts of this audit type ended how: success, invalid (checked) or locked. */
async function outcomes(username: string, type: string) {
  const rows = await auditOf(username, type);
  const count = (reason: string | null) => rows.filter((r) => r.reason === reason).length;
  return { success: count(null), invalid: count('invalid'), locked: count('locked') };
}

/** The time step the core last accepted from the user's app: no interface call shows it. */
async function lastStepOf(userId: string) {
  const [device] = await portal.services.devices.forUser(userId);
  return device?.last_step;
}

/** Locks the account as many failures would have: a lock the interface does not set. */
async function lockFor10Minutes(userId: string) {
  const until = Date.now() + 10 * 60_000;
  await portal.services.database.db
    .updateTable('users')
    .set({ locked_until: until })
    .where('id', '=', userId)
    .execute();
  return until;
}

/** The one right attempt among the wrong ones, at a random place. */
const rightOne = () => randomInt(parallel);

async function signInPages(count: number) {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const agent = browserAgent(portal);
      const page = await agent.get('/sign-in').expect(200);
      return { agent, page: page.text };
    }),
  );
}

/** Sessions that have proven the password, each on its own page of the second step. */
async function atSecondStep(username: string, path: string, count = parallel) {
  const sessions: { agent: Agent; page: string }[] = [];
  for (let i = 0; i < count; i++) {
    const agent = browserAgent(portal);
    const signedIn = await signIn(agent, username, accountPassword);
    if (signedIn.headers.location !== '/verify') throw new Error('not at the second step');
    sessions.push({ agent, page: (await agent.get(path).expect(200)).text });
  }
  return sessions;
}

describe('the password step cannot be raced past the lockout', () => {
  it(`checks at most ${threshold} of ${parallel} parallel passwords, one of them right`, async () => {
    await createUser(portal, 'jan', accountPassword);
    const right = rightOne();
    const forms = await signInPages(parallel);
    const responses = await Promise.all(
      forms.map(({ agent, page }, i) =>
        post(agent, '/sign-in', page, {
          username: 'jan',
          password: i === right ? accountPassword : `wrong guess ${i}`,
        }),
      ),
    );

    const checked = await outcomes('jan', 'sign-in.password');
    expect(checked.invalid).toBeLessThanOrEqual(threshold);
    expect(checked.success + checked.invalid + checked.locked).toBe(parallel);
    const signedIn = responses[right]?.status === 303;
    expect(checked.success).toBe(signedIn ? 1 : 0);
    responses.forEach((response, i) => {
      if (i !== right) expect(response.status).toBe(400);
    });
    if (!signedIn) {
      // It came after the lock: refused unchecked, and the account stays locked.
      expect(responses[right]?.status).toBe(400);
      expect(responses[right]?.text).toContain('The username or password is not correct');
      expect(checked.invalid).toBe(threshold);
      expect(await isLocked('jan')).toBe(true);
    }
    // A right password never counts: the failures are exactly the wrong ones that were checked.
    expect(await hourlyFailures('jan')).toBe(checked.invalid);
    if (checked.invalid === threshold) {
      expect((await userRow('jan')).lockedUntil).toBeGreaterThan(Date.now());
    }
  });
});

describe('the second step cannot be raced past the lockout', () => {
  /**
   * Only the wrong attempts that were counted are checked, and the hourly count keeps each of
   * them. A success clears the other failures, so wrong attempts that come after it may be
   * checked again, up to the threshold; before it, the right one's attempt counted too. After
   * the lock the right one is not even tried, so it cannot lift the lock.
   */
  async function expectRaceHeld(
    username: string,
    responses: { status: number; text: string }[],
    right: number,
  ) {
    const checked = await outcomes(username, 'sign-in.second-step');
    expect(checked.success + checked.invalid + checked.locked).toBe(parallel);
    expect(await hourlyFailures(username)).toBe(checked.invalid);
    const succeeded = responses[right]?.status === 303;
    expect(checked.invalid).toBeLessThanOrEqual(succeeded ? 2 * threshold - 1 : threshold);
    if (!succeeded) {
      expect(responses[right]?.status).toBe(403);
      expect(responses[right]?.text).toContain('Your account is locked');
      expect(checked.invalid).toBe(threshold);
      expect(await isLocked(username)).toBe(true);
    }
  }

  it(`checks at most ${threshold} of ${parallel} parallel app codes with a PIN`, async () => {
    await changeSettings(portal.services, { appMode: 'pin' });
    const { secret } = await enrolWithApp(portal.services, 'pim', accountPassword, {
      pin: '8264',
    });
    const sessions = await atSecondStep('pim', '/verify');
    const right = rightOne();
    const code = appCode(secret);
    const responses = await Promise.all(
      sessions.map(({ agent, page }, i) =>
        post(agent, '/verify', page, {
          method: 'app',
          code,
          pin: i === right ? '8264' : String(1000 + i * 7),
        }),
      ),
    );

    await expectRaceHeld('pim', responses, right);
  });

  it(`checks at most ${threshold} of ${parallel} parallel sets of security answers`, async () => {
    const answers = ['Rex', 'Utrecht', 'De Regenboog', 'Pieter'];
    await enrolWithApp(portal.services, 'vera', accountPassword, { answers });
    const questions = await portal.services.questions.forLanguage('en');
    const answerOf = new Map(
      questions.slice(0, answers.length).map((q, i) => [q.text, answers[i]]),
    );
    const sessions = await atSecondStep('vera', '/verify/questions');
    const right = rightOne();
    const responses = await Promise.all(
      sessions.map(({ agent, page }, i) => {
        const labels = [...page.matchAll(/<label for="answer(\d)"[^>]*>\d+\. ([^<]+)<\/label>/g)];
        const fields = Object.fromEntries(
          labels.map(([, n, text]) => [
            `answer${n ?? ''}`,
            i === right ? (answerOf.get(text ?? '') ?? '') : `wrong ${i}`,
          ]),
        );
        return post(agent, '/verify/questions', page, fields);
      }),
    );

    await expectRaceHeld('vera', responses, right);
  });

  it('does not try a right code and PIN while locked, nor lift the lock', async () => {
    await changeSettings(portal.services, { appMode: 'pin' });
    const { user, secret } = await enrolWithApp(portal.services, 'pim', accountPassword, {
      pin: '8264',
    });
    const [session] = await atSecondStep('pim', '/verify', 1);
    if (!session) throw new Error('no session');
    const stepBefore = await lastStepOf(user.id);
    const until = await lockFor10Minutes(user.id);
    const refused = await post(session.agent, '/verify', session.page, {
      method: 'app',
      code: appCode(secret),
      pin: '8264',
    });
    expect(refused.status).toBe(403);
    expect(await userRow('pim')).toMatchObject({ lockedUntil: until, failedAttempts: 0 });
    expect(await outcomes('pim', 'sign-in.second-step')).toEqual({
      success: 0,
      invalid: 0,
      locked: 1,
    });
    // The code was not even looked at: it is still unused.
    expect(await lastStepOf(user.id)).toBe(stepBefore);
  });
});

describe('PINs keyed in a call and replies to texts are counted when they come in', () => {
  /** A user whose numbers and PIN the helpdesk set (SPEC A2), calls or texts their method. */
  async function phoneUser(username: string, fields: { phone?: string; mobilePhone?: string }) {
    const user = await createUser(portal, username, accountPassword);
    await editUser(portal.services, user.id, {
      ...fields,
      defaultMethod: fields.phone ? 'phone' : 'sms',
    });
    await portal.services.mfa.administration.resetPin(cliContext, {
      userId: user.id,
      generate: false,
      pin: '8264',
      pinConfirmation: '8264',
    });
    return user;
  }

  /** How the user's calls or texts ended, newest first, as the audit records them (SPEC A4). */
  const settled = async (username: string, method: 'phone' | 'sms') =>
    (await auditOf(username, `verification.${method}`)).map((e) => ({
      status: e.result === 'success' ? 'approved' : 'denied',
      reason: e.reason,
    }));

  /** The calls and texts on the development phone's page. */
  const simulated = async () =>
    (
      (await browserAgent(portal).get('/simulator').expect(200)).text.match(
        /<article class="simulated">/g,
      ) ?? []
    ).length;

  it(`checks at most ${threshold} of ${parallel} PINs keyed in parallel calls`, async () => {
    await changeSettings(portal.services, { phoneMode: 'pin' });
    // This test is about the PIN keyed in each call, not the call limits (phone-limits.test.ts):
    // an administrator lets this user's 20 calls through.
    await changeSettings(portal.services, { callsAndTextsPerUserPerHour: parallel });
    await changeSettings(portal.services, { callsAndTextsPerNumberPerHour: parallel });
    await phoneUser('bas', { phone: '+31201234567' });
    const sessions = await atSecondStep('bas', '/verify');
    for (const { agent, page } of sessions) {
      await post(agent, '/verify/phone', page, {}).expect(303);
    }
    const phone = browserAgent(portal);
    const simulator = (await phone.get('/simulator').expect(200)).text;
    const calls = [...simulator.matchAll(/action="\/simulator\/calls\/([0-9a-f-]+)\/answer"/g)];
    expect(calls).toHaveLength(parallel);
    const right = rightOne();
    await Promise.all(
      calls.map(([, id], i) =>
        post(phone, `/simulator/calls/${id ?? ''}/answer`, simulator, {
          keys: `${i === right ? '8264' : String(1000 + i * 7)}#`,
        }).expect(303),
      ),
    );

    const ended = await settled('bas', 'phone');
    const wrong = ended.filter((v) => v.reason === 'wrong pin').length;
    const refused = ended.filter((v) => v.reason === 'locked').length;
    const approved = ended.filter((v) => v.status === 'approved').length;
    expect(wrong).toBeLessThanOrEqual(threshold);
    expect(wrong + refused + approved).toBe(parallel);
    expect((await userRow('bas')).failedAttempts).toBe(wrong);
    if (approved === 0) {
      expect(wrong).toBe(threshold);
      expect(await isLocked('bas')).toBe(true);
    }
  });

  it('counts a wrong reply without the waiting page, and does not try one while locked', async () => {
    await changeSettings(portal.services, { smsDirection: 'two-way' });
    await changeSettings(portal.services, { smsMode: 'otp-pin' });
    const user = await phoneUser('sara', { mobilePhone: '+33612345678' });
    const [session] = await atSecondStep('sara', '/verify', 1);
    if (!session) throw new Error('no session');
    const phone = browserAgent(portal);
    const reply = async (body: (code: string) => string, lockFirst = false) => {
      await post(session.agent, '/verify/sms', session.page, {}).expect(303);
      // The lock may come while the text is on its way: the reply must still not be tried.
      const until = lockFirst ? await lockFor10Minutes(user.id) : undefined;
      const page = (await phone.get('/simulator').expect(200)).text;
      const code = /\b(\d{6})\b/.exec(
        /<p class="simulated-body">([^<]*)<\/p>/.exec(page)?.[1] ?? '',
      )?.[1];
      const id = /action="\/simulator\/texts\/([0-9a-f-]+)\/reply"/.exec(page)?.[1] ?? '';
      await post(phone, `/simulator/texts/${id}/reply`, page, { body: body(code ?? '') }).expect(
        303,
      );
      return until;
    };

    await reply((code) => `${code}1111`);
    expect((await userRow('sara')).failedAttempts).toBe(1);

    const until = await reply((code) => `${code}8264`, true);
    const [newest] = await settled('sara', 'sms');
    expect(newest).toMatchObject({ status: 'denied', reason: 'locked' });
    const waiting = await session.agent.get('/verify/wait').expect(403);
    expect(waiting.text).toContain('Your account is locked');
    expect(await userRow('sara')).toMatchObject({ lockedUntil: until, failedAttempts: 1 });

    // While locked, no further text is sent at all.
    const texts = await simulated();
    const refused = await post(session.agent, '/verify/sms', session.page, {}).expect(403);
    expect(refused.text).toContain('Your account is locked');
    expect(await simulated()).toBe(texts);
  });
});

describe('a success forgives (SPEC M8)', () => {
  it('a right password takes back only its own attempt, even the one that reached the threshold', async () => {
    await createUser(portal, 'jan', accountPassword);
    for (let i = 0; i < threshold - 1; i++) {
      expect((await signIn(browserAgent(portal), 'jan', 'wrong guess')).status).toBe(400);
    }
    // Its attempt is the fifth: it locks for the time of the hash, and the success lifts that.
    const signedIn = await signIn(browserAgent(portal), 'jan', accountPassword);
    expect(signedIn.status).toBe(303);
    expect(await userRow('jan')).toMatchObject({
      failedAttempts: threshold - 1,
      lockedUntil: null,
    });
    expect(await hourlyFailures('jan')).toBe(threshold - 1);
  });

  it('the second step clears the failures, but not the hourly count of wrong ones', async () => {
    const { secret } = await enrolWithApp(portal.services, 'pim', accountPassword);
    const [session] = await atSecondStep('pim', '/verify', 1);
    if (!session) throw new Error('no session');
    for (let i = 0; i < 2; i++) {
      await post(session.agent, '/verify', session.page, { method: 'app', code: '000000' }).expect(
        400,
      );
    }
    // The right password again does not wipe out the wrong codes of the second step.
    await signIn(browserAgent(portal), 'pim', accountPassword);
    expect((await userRow('pim')).failedAttempts).toBe(2);
    await post(session.agent, '/verify', session.page, {
      method: 'app',
      code: appCode(secret),
    }).expect(303);
    expect(await userRow('pim')).toMatchObject({
      failedAttempts: 0,
      lockedUntil: null,
    });
    expect(await hourlyFailures('pim')).toBe(2);
  });
});

describe('at most 100 failures an hour (SPEC M8)', () => {
  it('locks until the hour is over once the cap is reached, raced or not', async () => {
    await changeSettings(portal.services, { lockoutThreshold: 100 });
    const user = await createUser(portal, 'jan', accountPassword);
    const windowStart = Date.now() - 10 * 60_000;
    // 95 failures counted ten minutes ago: a count in the past that no request can set.
    await portal.services.database.db
      .updateTable('users')
      .set({ failure_window_start: windowStart, failure_window_count: 95 })
      .where('id', '=', user.id)
      .execute();
    const forms = await signInPages(parallel);
    await Promise.all(
      forms.map(({ agent, page }, i) =>
        post(agent, '/sign-in', page, { username: 'jan', password: `wrong guess ${i}` }),
      ),
    );
    const checked = await outcomes('jan', 'sign-in.password');
    expect(checked).toEqual({ success: 0, invalid: 5, locked: parallel - 5 });
    expect(await userRow('jan')).toMatchObject({
      failedAttempts: 5,
      lockedUntil: windowStart + 3_600_000,
    });
    expect(await hourlyFailures('jan')).toBe(100);
    // Even the right password is refused, unchecked, until the hour is over.
    expect((await signIn(browserAgent(portal), 'jan', accountPassword)).status).toBe(400);
  });
});
