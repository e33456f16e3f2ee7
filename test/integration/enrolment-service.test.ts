import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Context } from '../../src/core/context.ts';
import { createDrafts, draftsPerKind, type EnrolmentDraft } from '../../src/core/drafts.ts';
import { decodeBase32, encodeBase32, hotp } from '../../src/core/otp.ts';
import { verifySecret } from '../../src/core/passwords.ts';
import { createTestPortal, createUser, type TestPortal, changeSettings } from '../helpers/app.ts';
import { accountOf, devicesOf } from '../helpers/account.ts';
import { cliContext } from '../helpers/context.ts';
import { appCode } from '../helpers/two-step.ts';

/**
 * SPEC J2 through the interface alone: the rules of User Setup (which method, the PIN policy,
 * the code, the answers) are the core's, whatever portal calls it, and nothing is saved before
 * `complete`.
 */
let portal: TestPortal;
let userId: string;
let context: Context;

beforeEach(async () => {
  portal = await createTestPortal();
  userId = (await createUser(portal, 'lotte', 'correct horse battery')).id;
  context = { actor: { kind: 'user', userId }, clientIp: '192.0.2.7', language: 'en' };
});
afterEach(async () => {
  await portal.close();
});

const enrolment = () => portal.services.mfa.enrolment;
const devices = () => devicesOf(portal.services, userId);
const account = () => accountOf(portal.services, 'lotte');
/** The user's row as stored, for the PIN's hash: no interface call shows it. */
const storedUser = () => portal.services.users.findById(userId);

/** An app setup proven with a current code; returns its draft id and the app's secret. */
async function provenApp(options: { pin?: string } = {}) {
  const { draftId } = await enrolment().generateAppSeed(context, { userId });
  const setup = await enrolment().appSetup(context, { userId, draftId, issuer: 'MFA Portal' });
  const secret = decodeBase32(setup.activation?.secret ?? '');
  const pin = options.pin ? { pin: options.pin, pinConfirmation: options.pin } : {};
  const proven = await enrolment().proveApp(context, {
    userId,
    draftId,
    code: appCode(secret),
    ...pin,
  });
  expect(proven).toEqual({ outcome: 'proven', draftId, next: 'questions' });
  return { draftId, secret };
}

async function answers(count = 4) {
  const { questions } = await enrolment().questions(context, { userId });
  return questions.slice(0, count).map((q, i) => ({ questionId: q.id, answer: `answer ${i}` }));
}

describe('User Setup through the MfaService (SPEC J2)', () => {
  it('names the app device in the language of the setup (SPEC L5)', async () => {
    context = { ...context, language: 'nl' };
    const { draftId } = await provenApp();
    const questions = await portal.services.questions.forLanguage('nl');
    const given = questions.slice(0, 4).map((q, i) => ({ questionId: q.id, answer: `a ${i}` }));
    expect(await enrolment().complete(context, { userId, draftId, answers: given })).toEqual({
      outcome: 'enrolled',
    });
    expect(await devices()).toMatchObject([{ kind: 'app', name: 'Mobiele app 1' }]);
  });

  it('offers only the methods the settings allow, and begins only with one of them', async () => {
    expect(await enrolment().offeredMethods(context, { userId })).toEqual(['app', 'token']);
    const refused = await enrolment().begin(context, { userId, method: 'phone' });
    expect(refused).toEqual({
      outcome: 'invalid',
      errors: [{ field: 'method-0', message: 'setup.errors.chooseMethod' }],
    });
    const begun = await enrolment().begin(context, { userId, method: 'token' });
    if (begun.outcome !== 'begun') throw new Error('not begun');
    expect(await enrolment().progress(context, { userId, draftId: begun.draftId })).toEqual({
      method: 'token',
      proven: false,
    });
    await changeSettings(portal.services, { allowOathToken: false });
    const token = { serial: 'T1', secret: '', otpType: '', digits: '', period: '', algorithm: '' };
    await expect(
      enrolment().proveToken(context, { userId, token: { ...token, code: '' } }),
    ).rejects.toMatchObject({ code: 'not-found' });
  });

  it('applies the PIN policy and checks the code in the core, and keeps no proof until both pass', async () => {
    await changeSettings(portal.services, { appMode: 'pin' });
    const { draftId } = await enrolment().generateAppSeed(context, { userId });
    const setup = await enrolment().appSetup(context, { userId, draftId, issuer: 'MFA Portal' });
    expect(setup.pin).toEqual({ required: true, minLength: 4 });
    expect(setup.activation?.uri).toMatch(/^otpauth:\/\/totp\/MFA%20Portal:lotte\?secret=/);
    const secret = decodeBase32(setup.activation?.secret ?? '');
    const prove = (fields: { code: string; pin?: string; pinConfirmation?: string }) =>
      enrolment().proveApp(context, { userId, draftId, ...fields });

    expect(await prove({ code: appCode(secret) })).toEqual({
      outcome: 'invalid',
      errors: [{ field: 'pin', message: 'pin.errors.missing' }],
    });
    expect(await prove({ code: appCode(secret), pin: '1234', pinConfirmation: '1234' })).toEqual({
      outcome: 'invalid',
      errors: [{ field: 'pin', message: 'pin.errors.sequence', values: { min: 4 } }],
    });
    expect(await prove({ code: '12ab', pin: '8264', pinConfirmation: '8264' })).toEqual({
      outcome: 'invalid',
      errors: [{ field: 'code', message: 'codes.errors.format', values: { digits: '6' } }],
    });
    expect(await prove({ code: '000000', pin: '8264', pinConfirmation: '8264' })).toMatchObject({
      errors: [{ field: 'code', message: 'codes.errors.wrong' }],
    });
    expect(await enrolment().progress(context, { userId, draftId })).toEqual({
      method: 'app',
      proven: false,
    });

    const proven = await prove({ code: appCode(secret), pin: '8264', pinConfirmation: '8264' });
    expect(proven).toMatchObject({ outcome: 'proven', next: 'questions' });
    expect(await devices()).toEqual([]);
    expect(
      await enrolment().complete(context, { userId, draftId, answers: await answers() }),
    ).toEqual({ outcome: 'enrolled' });
    expect((await account()).hasPin).toBe(true);
    const user = await storedUser();
    expect(user?.pin_hash?.startsWith('$argon2id$')).toBe(true);
    expect(await verifySecret('8264', user?.pin_hash ?? '')).toBe(true);
  });

  it('checks the answers in the core before anything is saved, then saves all at once', async () => {
    const { draftId } = await provenApp();
    const given = await answers();
    const [first, second, third, fourth] = given;
    if (!first || !second || !third || !fourth) throw new Error('too few questions');
    const refused = await enrolment().complete(context, {
      userId,
      draftId,
      answers: [
        { ...first, questionId: 'made-up' },
        { ...second, questionId: first.questionId },
        { ...third, answer: '   ' },
        { ...fourth, answer: 'x'.repeat(201) },
      ],
    });
    expect(refused).toEqual({
      outcome: 'invalid',
      errors: [
        { field: 'question0', message: 'setup.questions.errors.choose', values: { number: 1 } },
        {
          field: 'answer2',
          message: 'setup.questions.errors.answerMissing',
          values: { number: 3 },
        },
        {
          field: 'answer3',
          message: 'setup.questions.errors.answerTooLong',
          values: { number: 4 },
        },
      ],
    });
    const short = await enrolment().complete(context, { userId, draftId, answers: [first] });
    expect(short).toMatchObject({ outcome: 'invalid' });
    expect(await devices()).toEqual([]);

    const done = await enrolment().complete(context, { userId, draftId, answers: given });
    expect(done).toEqual({ outcome: 'enrolled' });
    expect(await devices()).toMatchObject([{ kind: 'app', name: 'Mobile app 1' }]);
    expect((await account()).answeredQuestions).toBe(4);
    const audit = await portal.services.mfa.administration.auditEvents(cliContext, {
      userId,
      type: 'enrolment',
    });
    expect(audit).toMatchObject([
      { type: 'enrolment', method: 'app', device: 'Mobile app 1', clientIp: '192.0.2.7' },
    ]);
    // The draft ended with the setup.
    expect(await enrolment().progress(context, { userId, draftId })).toBeNull();
  });

  it('keeps a draft to its user, ends it on cancel, and keeps a few per user at most', async () => {
    const { draftId } = await provenApp();
    const other = (await createUser(portal, 'mallory', 'correct horse battery')).id;
    const asOther: Context = { ...context, actor: { kind: 'user', userId: other } };
    expect(await enrolment().progress(asOther, { userId: other, draftId })).toBeNull();
    await expect(
      enrolment().complete(asOther, { userId, draftId, answers: await answers() }),
    ).rejects.toMatchObject({ code: 'not-allowed' });
    expect(
      await enrolment().complete(asOther, { userId: other, draftId, answers: await answers() }),
    ).toEqual({ outcome: 'not-started' });

    await enrolment().cancel(context, { userId, draftId });
    expect(await enrolment().progress(context, { userId, draftId })).toBeNull();
    expect(
      await enrolment().complete(context, { userId, draftId, answers: await answers() }),
    ).toEqual({ outcome: 'not-started' });

    const ids: string[] = [];
    for (let i = 0; i <= draftsPerKind; i++) {
      const begun = await enrolment().begin(context, { userId, method: 'app' });
      if (begun.outcome === 'begun') ids.push(begun.draftId);
    }
    const live = await Promise.all(
      ids.map((id) => enrolment().progress(context, { userId, draftId: id })),
    );
    expect(live.filter((p) => p !== null)).toHaveLength(draftsPerKind);
    expect(live.at(-1)).toEqual({ method: 'app', proven: false });
  });

  it('saves a token with its counter after the code that proved it', async () => {
    await changeSettings(portal.services, { useSecurityQuestions: false });
    const secret = Buffer.from('3132333435363738393031323334353637383930', 'hex');
    const token = {
      serial: 'OATH-0001',
      secret: encodeBase32(secret),
      otpType: 'hotp',
      digits: '6',
      period: '30',
      algorithm: 'SHA1',
    };
    const wrong = await enrolment().proveToken(context, {
      userId,
      token: { ...token, secret: 'not base32!', code: '' },
    });
    expect(wrong).toEqual({
      outcome: 'invalid',
      errors: [
        { field: 'secret', message: 'setup.token.errors.secretFormat' },
        { field: 'code', message: 'codes.errors.missing' },
      ],
    });
    const code = hotp(secret, 2, { algorithm: 'SHA1', digits: 6 });
    const proven = await enrolment().proveToken(context, { userId, token: { ...token, code } });
    if (proven.outcome !== 'proven') throw new Error('not proven');
    expect(proven.next).toBe('complete');
    const draftId = proven.draftId;
    expect(await enrolment().complete(context, { userId, draftId, answers: [] })).toEqual({
      outcome: 'enrolled',
    });
    expect(await devices()).toMatchObject([{ kind: 'token', serial: 'OATH-0001' }]);
    // The counter the core keeps for the token: no interface call shows it.
    const [stored] = await portal.services.devices.forUser(userId);
    expect(stored?.counter).toBe(3);
  });

  it('saves a phone draft proven by a call: its numbers, PIN and default method', async () => {
    await changeSettings(portal.services, { useSecurityQuestions: false });
    // A draft as a proven call leaves it, made without a call: this portal has no provider.
    const { database, encryptionKey } = portal.services;
    const draft: EnrolmentDraft = {
      method: 'phone',
      phone: {
        phone: '+31201234567',
        extension: '12',
        backupPhone: '+31207654321',
        backupExtension: null,
      },
      pinHash: await portal.services.secondFactor.hashPin('8264'),
      proof: { lastStep: null, counter: null },
    };
    const draftId = await createDrafts({ db: database.db, encryptionKey }).create(
      userId,
      'enrolment',
      draft,
    );
    expect(await enrolment().complete(context, { userId, draftId, answers: [] })).toEqual({
      outcome: 'enrolled',
    });
    expect(await account()).toMatchObject({
      phone: '+31201234567',
      phoneExtension: '12',
      backupPhone: '+31207654321',
      defaultMethod: 'phone',
      hasPin: true,
    });
    expect((await storedUser())?.pin_hash).toBe(draft.pinHash);
    expect(await devices()).toEqual([]);
  });

  it('saves nothing once User Setup is switched off', async () => {
    const { draftId } = await provenApp();
    await changeSettings(portal.services, { allowEnrollment: false });
    await expect(
      enrolment().complete(context, { userId, draftId, answers: await answers() }),
    ).rejects.toMatchObject({ code: 'not-allowed' });
    expect(await devices()).toEqual([]);
  });
});
