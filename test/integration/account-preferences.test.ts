import type supertest from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifySecret } from '../../src/core/passwords.ts';
import {
  accountOf,
  accountPassword,
  addDevice,
  editUser,
  enrolledUser,
  signInWithoutProof,
} from '../helpers/account.ts';
import { cliContext, userContext } from '../helpers/context.ts';
import {
  browserAgent,
  createTestPortal,
  csrfTokenFrom,
  signIn,
  type TestPortal,
  changeSettings,
} from '../helpers/app.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { appCode, post, questionIdsFrom } from '../helpers/two-step.ts';

/*
 * SPEC J3, J5, M5, M6: the PIN, the default method, the language and the security questions on
 * My account. Each change is refused when the settings forbid it, a factor change without a
 * recent proof, and bad input, all with nothing changed; what is saved is what the next sign-in
 * uses.
 */

type Agent = ReturnType<typeof supertest.agent>;

let portal: TestPortal;
let smtp: Awaited<ReturnType<typeof startSmtpServer>> | undefined;

beforeEach(async () => {
  smtp = await startSmtpServer();
  portal = await createTestPortal({ ...smtp.config, RATE_LIMIT_SIGNIN_MAX: '1000' });
});
afterEach(async () => {
  await portal.close();
  await smtp?.close();
  smtp = undefined;
});

/** The account as the helpdesk sees it (SPEC A2). */
const userRow = (username = 'lotte') => accountOf(portal.services, username);

/** The user's row as stored, for the PIN's hash and "change required": no interface shows them. */
async function storedRow(username = 'lotte') {
  const user = await portal.services.users.findByUsername(username);
  if (!user) throw new Error(`no user ${username}`);
  return user;
}

/** The user's own changes of one type (the helpdesk's PIN reset is not one). */
async function changeEvents(type: string, username = 'lotte') {
  const userId = (await userRow(username)).id;
  const events = await portal.services.mfa.administration.auditEvents(cliContext, { userId, type });
  return events.filter((event) => !event.reason?.startsWith('reset by'));
}

/** The answers' hashes as stored: no interface call shows them. */
async function answerHashes(username = 'lotte') {
  return portal.services.database.db
    .selectFrom('security_answers')
    .select(['question_id', 'answer_hash'])
    .where('user_id', '=', (await userRow(username)).id)
    .orderBy('question_id')
    .execute();
}

/** A form post with a valid CSRF token, for a page that itself may refuse to show. */
async function postWithToken(agent: Agent, path: string, fields: Record<string, unknown>) {
  const account = await agent.get('/account').expect(200);
  return agent
    .post(path)
    .type('form')
    .send({ _csrf: csrfTokenFrom(account.text), ...fields });
}

/** Signs in with the password and returns the second-step page the user lands on. */
async function startSignIn(username = 'lotte') {
  const agent = browserAgent(portal);
  const signedIn = await signIn(agent, username, accountPassword);
  expect(signedIn.headers.location).toBe('/verify');
  return { agent, page: await agent.get('/verify').expect(200) };
}

/** The helpdesk sets the user's PIN (SPEC A2). */
async function setPin(username: string, pin: string) {
  const userId = (await userRow(username)).id;
  const set = await portal.services.mfa.administration.resetPin(cliContext, {
    userId,
    generate: false,
    pin,
    pinConfirmation: pin,
  });
  expect(set).toEqual({ outcome: 'reset', pin: null });
}

describe('PIN (SPEC J3, M5)', () => {
  it('saves a new PIN under the policy, and the next sign-in needs it, not the old one', async () => {
    const { agent, secret } = await enrolledUser(portal);
    await changeSettings(portal.services, { appMode: 'pin' });
    await setPin('lotte', '1357');
    await editUser(portal.services, (await userRow()).id, { phone: '+31205558642' });
    // "PIN change required": no interface call asks for it yet.
    await portal.services.database.db
      .updateTable('users')
      .set({ pin_change_required: 1 })
      .where('username', '=', 'lotte')
      .execute();

    const page = await agent.get('/account/pin').expect(200);
    expect(page.text).toContain('<h1>Change your PIN</h1>');
    expect(page.text).toMatch(/<input id="pin" name="pin" type="password" autocomplete="off"/);
    const attempts: [string, string, string][] = [
      ['', '', 'Enter your PIN'],
      ['12a4', '12a4', 'Your PIN can only contain digits'],
      ['123', '123', 'Your PIN must have at least 4 digits'],
      ['7777', '7777', 'Your PIN cannot be the same digit repeated'],
      ['4321', '4321', 'Your PIN cannot be a series such as 1234 or 4321'],
      ['5558', '5558', 'Your PIN cannot be part of your phone number'],
      ['2580', '2581', 'The two PINs are not the same'],
    ];
    for (const [pin, pinConfirmation, message] of attempts) {
      const refused = await post(agent, '/account/pin', page.text, { pin, pinConfirmation });
      expect(refused.status, pin).toBe(400);
      expect(refused.text, pin).toContain(message);
      expect(refused.text).toContain('aria-invalid="true"');
      expect(refused.text).not.toContain(`value="${pin}"`);
    }
    expect(await verifySecret('1357', (await storedRow()).pin_hash ?? '')).toBe(true);

    const saved = await post(agent, '/account/pin', page.text, {
      pin: '2580',
      pinConfirmation: '2580',
    });
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toBe('/account?done=pin');
    const after = await storedRow();
    expect(await verifySecret('2580', after.pin_hash ?? '')).toBe(true);
    expect(after.pin_change_required).toBe(0);
    expect(await changeEvents('change.pin')).toHaveLength(1);
    expect((await agent.get('/account?done=pin').expect(200)).text).toContain(
      'Your PIN has been changed.',
    );

    const { agent: next, page: verify } = await startSignIn();
    expect(verify.text).toContain('name="pin"');
    const oldPin = await post(next, '/verify', verify.text, {
      method: 'app',
      code: appCode(secret, 1),
      pin: '1357',
    });
    expect(oldPin.status).toBe(400);
    const newPin = await post(next, '/verify', verify.text, {
      method: 'app',
      code: appCode(secret, 1),
      pin: '2580',
    });
    expect(newPin.status).toBe(303);
    expect(newPin.headers.location).toBe('/account');
  });

  it('is refused, with nothing changed, when no method of the user asks for a PIN', async () => {
    const { agent } = await enrolledUser(portal);
    await changeSettings(portal.services, { phoneMode: 'pin' });
    await changeSettings(portal.services, { smsMode: 'otp-pin' });
    const page = await agent.get('/account/pin').expect(403);
    expect(page.text).toContain('This change is not available');
    const refused = await postWithToken(agent, '/account/pin', {
      pin: '2580',
      pinConfirmation: '2580',
    });
    expect(refused.status).toBe(403);
    expect((await userRow()).hasPin).toBe(false);
    expect(await changeEvents('change.pin')).toEqual([]);
  });

  it('asks for a fresh proof first, on the page and on the form', async () => {
    await enrolledUser(portal);
    await changeSettings(portal.services, { appMode: 'pin' });
    const agent = await signInWithoutProof(portal);
    const page = await agent.get('/account/pin');
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/account/confirm');
    const refused = await postWithToken(agent, '/account/pin', {
      pin: '2580',
      pinConfirmation: '2580',
    });
    expect(refused.status).toBe(303);
    expect(refused.headers.location).toBe('/account/confirm');
    expect((await userRow()).hasPin).toBe(false);
  });

  it('refuses a form our page did not send: two values, an unknown field, a huge PIN', async () => {
    const { agent } = await enrolledUser(portal);
    await changeSettings(portal.services, { appMode: 'pin' });
    const page = await agent.get('/account/pin').expect(200);
    const token = csrfTokenFrom(page.text);
    const twice = await agent
      .post('/account/pin')
      .type('form')
      .send(`_csrf=${encodeURIComponent(token)}&pin=2580&pin=3690&pinConfirmation=2580`);
    expect(twice.status).toBe(400);
    const extra = await post(agent, '/account/pin', page.text, {
      pin: '2580',
      pinConfirmation: '2580',
      userId: 'someone-else',
    });
    expect(extra.status).toBe(400);
    const huge = await post(agent, '/account/pin', page.text, {
      pin: '9'.repeat(5000),
      pinConfirmation: '9'.repeat(5000),
    });
    expect(huge.status).toBe(400);
    expect(huge.text).toContain('Your PIN must have 10 digits or fewer');
    expect((await userRow()).hasPin).toBe(false);
    expect(await changeEvents('change.pin')).toEqual([]);
  });

  it('tells a Dutch-speaking user by email, in Dutch', async () => {
    const { agent } = await enrolledUser(portal, 'lotte', {
      email: 'lotte@example.test',
      language: 'nl',
    });
    await changeSettings(portal.services, { appMode: 'pin' });
    const page = await agent.get('/account/pin').expect(200);
    expect(page.text).toContain('<h1>Een pincode kiezen</h1>');
    await post(agent, '/account/pin', page.text, {
      pin: '2580',
      pinConfirmation: '2580',
    }).expect(303);
    const mail = (await smtp?.waitFor(2))?.[1];
    expect(mail?.to).toEqual(['lotte@example.test']);
    expect(mail?.language).toBe('nl');
    expect(mail?.subject).toBe('Beveiligingsmelding: uw aanmeldgegevens zijn gewijzigd');
    expect(mail?.text).toContain('gewijzigd: pincode.');
    expect(mail?.text).not.toContain('2580');
  });
});

/** A second method: an OATH token, added as the token page would have added it. */
async function addToken(username = 'lotte') {
  await addDevice(portal.services, (await userRow(username)).id, { kind: 'token', name: 'TOK-1' });
}

describe('Default method (SPEC J1, J3)', () => {
  it('offers the enrolled methods, needs no new proof, and the next sign-in starts with the choice', async () => {
    await enrolledUser(portal, 'lotte', { email: 'lotte@example.test' });
    await smtp?.waitFor(1);
    await addToken();
    await smtp?.waitFor(2);
    const agent = await signInWithoutProof(portal);

    const page = await agent.get('/account/method').expect(200);
    const offered = [...page.text.matchAll(/type="radio" id="[^"]+" name="method" value="(\w+)"/g)];
    expect(offered.map((m) => m[1])).toEqual(['app', 'token']);
    expect(page.text).toMatch(/value="app" checked/);

    const saved = await post(agent, '/account/method', page.text, { method: 'token' });
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toBe('/account?done=method');
    expect((await userRow()).defaultMethod).toBe('token');
    const events = await changeEvents('change.method');
    expect(events.map((e) => e.method)).toEqual(['token']);
    expect((await agent.get('/account').expect(200)).text).toContain(
      'Default method</dt><dd>OATH token</dd>',
    );
    // A preference, not a factor: no security notice after those of the enrolment and token.
    await expect(smtp?.waitFor(3, 300)).rejects.toThrow('Expected 3 emails, got 2');

    const { page: verify } = await startSignIn();
    expect(verify.text).toContain('<h1>Enter the code from your token</h1>');

    const again = await agent.get('/account/method').expect(200);
    expect(again.text).toMatch(/value="token" checked/);
    await post(agent, '/account/method', again.text, { method: 'app' }).expect(303);
    const { page: verifyApp } = await startSignIn();
    expect(verifyApp.text).toContain('<h1>Enter the code from your app</h1>');
  });

  it('refuses a method the user does not have, or one the settings no longer offer', async () => {
    const { agent } = await enrolledUser(portal);
    await addToken();
    const page = await agent.get('/account/method').expect(200);
    for (const method of ['phone', 'sms', 'questions', 'App', '']) {
      const refused = await post(agent, '/account/method', page.text, { method });
      expect(refused.status, method).toBe(400);
      expect(refused.text).toContain('Choose one of your methods');
      expect(refused.text).toContain('href="#method-0"');
    }
    const twice = await agent
      .post('/account/method')
      .type('form')
      .send(`_csrf=${encodeURIComponent(csrfTokenFrom(page.text))}&method=token&method=app`);
    expect(twice.status).toBe(400);
    const oversized = await post(agent, '/account/method', page.text, {
      method: 'x'.repeat(15000),
    });
    expect(oversized.status).toBe(400);

    await changeSettings(portal.services, { allowedMethods: ['app', 'phone', 'sms'] });
    const withdrawn = await postWithToken(agent, '/account/method', { method: 'token' });
    expect(withdrawn.status).toBe(403);
    expect((await userRow()).defaultMethod).toBe('app');
    expect(await changeEvents('change.method')).toEqual([]);
  });

  it('is refused when users may not select a method, or have only one', async () => {
    const { agent } = await enrolledUser(portal);
    await agent.get('/account/method').expect(403);
    await addToken();
    await agent.get('/account/method').expect(200);
    await changeSettings(portal.services, { allowSelectMethod: false });
    await agent.get('/account/method').expect(403);
    const refused = await postWithToken(agent, '/account/method', { method: 'token' });
    expect(refused.status).toBe(403);
    expect((await userRow()).defaultMethod).toBe('app');
    expect(await changeEvents('change.method')).toEqual([]);
  });
});

describe('Language (SPEC J5)', () => {
  it('saves the language; My account and the security emails then use it', async () => {
    const { agent } = await enrolledUser(portal, 'lotte', { email: 'lotte@example.test' });
    const enrolled = await smtp?.waitFor(1);
    expect(enrolled?.[0]?.language).toBe('en');
    await changeSettings(portal.services, { appMode: 'pin' });

    const page = await agent.get('/account/language').expect(200);
    expect(page.text).toContain('<label for="language-1" lang="nl">Nederlands</label>');
    expect(page.text).toContain('<label for="language-2" lang="fr">Français</label>');
    expect(page.text).toMatch(/value="en" checked/);

    const saved = await post(agent, '/account/language', page.text, { language: 'fr' });
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toBe('/account?done=language');
    expect(String(saved.headers['set-cookie'])).toContain('lang=fr');
    expect((await userRow()).language).toBe('fr');
    expect(await changeEvents('change.language')).toHaveLength(1);

    // The browser still says English: the saved language wins.
    const account = await agent
      .get('/account?done=language')
      .set('Accept-Language', 'en')
      .expect(200);
    expect(account.headers['content-language']).toBe('fr');
    expect(account.text).toContain('<html lang="fr">');
    expect(account.text).toContain('Votre langue a été enregistrée.');

    const pinPage = await agent.get('/account/pin').expect(200);
    expect(pinPage.text).toContain('<h1>Choisir un code PIN</h1>');
    await post(agent, '/account/pin', pinPage.text, {
      pin: '2580',
      pinConfirmation: '2580',
    }).expect(303);
    const mail = (await smtp?.waitFor(2))?.[1];
    expect(mail?.language).toBe('fr');
    expect(mail?.subject).toBe('Avis de sécurité\u00a0: vos informations de connexion ont changé');
    expect(mail?.text).toContain('modifié\u00a0: code PIN.');
  });

  it('refuses a language the portal does not speak, and any other form', async () => {
    const { agent } = await enrolledUser(portal);
    const page = await agent.get('/account/language').expect(200);
    for (const language of ['de', 'FR', 'fr-BE', '', 'x'.repeat(10000)]) {
      const refused = await post(agent, '/account/language', page.text, { language });
      expect(refused.status, language.slice(0, 10)).toBe(400);
      expect(refused.text).toContain('Choose one of the languages');
    }
    const twice = await agent
      .post('/account/language')
      .type('form')
      .send(`_csrf=${encodeURIComponent(csrfTokenFrom(page.text))}&language=fr&language=nl`);
    expect(twice.status).toBe(400);
    // As the first sign-in kept it.
    expect((await userRow()).language).toBe('en');
    expect(await changeEvents('change.language')).toEqual([]);
  });

  it('is refused when users may not select a language', async () => {
    const { agent } = await enrolledUser(portal);
    await changeSettings(portal.services, { allowSelectLanguage: false });
    await agent.get('/account/language').expect(403);
    const refused = await postWithToken(agent, '/account/language', { language: 'nl' });
    expect(refused.status).toBe(403);
    expect((await userRow()).language).toBe('en');
    expect(await changeEvents('change.language')).toEqual([]);
  });
});

/** The answer to each question the fallback asks, by its text on the page. */
function answersFor(page: string, byText: Map<string, string>): Record<string, string> {
  const labels = [...page.matchAll(/<label for="(answer\d+)"[^>]*>([^<]+)<\/label>/g)];
  expect(labels.length).toBeGreaterThan(0);
  const answers: Record<string, string> = {};
  for (const [, field, text] of labels)
    answers[field ?? ''] = byText.get((text ?? '').replace(/^\d+\. /, '')) ?? '';
  return answers;
}

/** The security questions My account offers Lotte, in a language. */
async function questionsIn(language: string) {
  const userId = (await userRow()).id;
  const context = { ...userContext(userId), language };
  return (await portal.services.mfa.account.securityQuestions(context, { userId })).questions;
}

describe('Security questions (SPEC J3, M6)', () => {
  const oldAnswers = ['Rex', 'Utrecht', 'De Regenboog', 'Pieter'];
  const newAnswers = ['Bello', 'Zwolle', 'De Klimop', 'Anouk'];

  async function questionTexts(ids: string[]) {
    const all = await questionsIn('en');
    return ids.map((id) => all.find((q) => q.id === id)?.text ?? '');
  }

  it('replaces all answers; the fallback then accepts the new ones and not the old', async () => {
    const { agent } = await enrolledUser(portal);
    const before = await answerHashes();
    const page = await agent.get('/account/questions').expect(200);
    expect(page.text).toContain('<h1>Change your security questions</h1>');
    const ids = questionIdsFrom(page.text).slice(0, 4);
    const fields: Record<string, string> = {};
    newAnswers.forEach((answer, i) => {
      fields[`question${i}`] = ids[i] ?? '';
      fields[`answer${i}`] = answer;
    });
    const saved = await post(agent, '/account/questions', page.text, fields);
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toBe('/account?done=questions');
    const after = await answerHashes();
    expect(after.map((a) => a.question_id)).toEqual(before.map((a) => a.question_id));
    expect(after.map((a) => a.answer_hash)).not.toContain(before[0]?.answer_hash);
    expect(await changeEvents('change.questions')).toHaveLength(1);

    const texts = await questionTexts(ids);
    const { agent: next } = await startSignIn();
    const asked = await next.get('/verify/questions').expect(200);
    const old = await post(
      next,
      '/verify/questions',
      asked.text,
      answersFor(asked.text, new Map(texts.map((text, i) => [text, oldAnswers[i] ?? '']))),
    );
    expect(old.status).toBe(400);
    expect(old.text).toContain('One or more answers are not correct.');
    const accepted = await post(
      next,
      '/verify/questions',
      asked.text,
      answersFor(asked.text, new Map(texts.map((text, i) => [text, ` ${newAnswers[i] ?? ''} `]))),
    );
    expect(accepted.status).toBe(303);
    expect(accepted.headers.location).toBe('/account');
  });

  it('refuses unknown, repeated, empty and overlong answers with nothing changed', async () => {
    const { agent } = await enrolledUser(portal);
    const before = await answerHashes();
    const page = await agent.get('/account/questions').expect(200);
    const ids = questionIdsFrom(page.text);
    const valid: Record<string, string> = {};
    newAnswers.forEach((answer, i) => {
      valid[`question${i}`] = ids[i] ?? '';
      valid[`answer${i}`] = answer;
    });
    const cases: [Record<string, string>, string][] = [
      [{ question0: 'no-such-question' }, 'Choose question 1'],
      [{ question0: '' }, 'Choose question 1'],
      [{ question1: ids[0] ?? '' }, 'Question 2: choose a question you have not chosen already'],
      [{ answer2: '   ' }, 'Enter an answer to question 3'],
      // The same answer again, whatever its case or spaces: not another secret.
      [
        { answer1: ` ${(valid.answer0 ?? '').toUpperCase()} ` },
        'Question 2: give an answer you have not given to another question',
      ],
      [{ answer3: 'a'.repeat(201) }, 'Your answer to question 4 must be 200 characters or fewer'],
    ];
    for (const [change, message] of cases) {
      const refused = await post(agent, '/account/questions', page.text, { ...valid, ...change });
      expect(refused.status, message).toBe(400);
      expect(refused.text).toContain(message);
      expect(refused.text).toContain('aria-invalid="true"');
    }
    const twice = await agent
      .post('/account/questions')
      .type('form')
      .send(
        `_csrf=${encodeURIComponent(csrfTokenFrom(page.text))}&` +
          new URLSearchParams({ ...valid }).toString() +
          `&answer0=again`,
      );
    expect(twice.status).toBe(400);
    const extra = await post(agent, '/account/questions', page.text, {
      ...valid,
      question4: ids[4] ?? '',
    });
    expect(extra.status).toBe(400);
    expect(await answerHashes()).toEqual(before);
    expect(await changeEvents('change.questions')).toEqual([]);
  });

  it('is refused when questions are off, and asks for a fresh proof first', async () => {
    await enrolledUser(portal);
    const before = await answerHashes();
    const agent = await signInWithoutProof(portal);
    const page = await agent.get('/account/questions');
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/account/confirm');
    const unproven = await postWithToken(agent, '/account/questions', {
      question0: 'x',
      answer0: 'y',
    });
    expect(unproven.status).toBe(303);
    expect(unproven.headers.location).toBe('/account/confirm');

    await changeSettings(portal.services, { useSecurityQuestions: false });
    await agent.get('/account/questions').expect(403);
    const off = await postWithToken(agent, '/account/questions', { question0: 'x', answer0: 'y' });
    expect(off.status).toBe(403);
    expect(await answerHashes()).toEqual(before);
    expect(await changeEvents('change.questions')).toEqual([]);
  });

  it('lists the questions in the page language and tells a Dutch-speaking user in Dutch', async () => {
    const { agent } = await enrolledUser(portal, 'lotte', {
      email: 'lotte@example.test',
      language: 'nl',
    });
    const page = await agent.get('/account/questions').expect(200);
    expect(page.text).toContain('<h1>Uw beveiligingsvragen wijzigen</h1>');
    const dutch = await questionsIn('nl');
    const ids = questionIdsFrom(page.text);
    expect(ids).toEqual(dutch.map((q) => q.id));
    const fields: Record<string, string> = {};
    newAnswers.forEach((answer, i) => {
      fields[`question${i}`] = ids[i] ?? '';
      fields[`answer${i}`] = answer;
    });
    await post(agent, '/account/questions', page.text, fields).expect(303);
    const mail = (await smtp?.waitFor(2))?.[1];
    expect(mail?.language).toBe('nl');
    expect(mail?.subject).toBe('Beveiligingsmelding: uw aanmeldgegevens zijn gewijzigd');
    expect(mail?.text).toContain('gewijzigd: beveiligingsvragen.');
    for (const answer of newAnswers) expect(mail?.text).not.toContain(answer);
  });
});
