import type supertest from 'supertest';
import type { Context } from '../../src/core/context.ts';
import type { MfaService } from '../../src/core/mfa-service.ts';
import type { UserEdit } from '../../src/core/service/administration.ts';
import { decodeBase32, encodeBase32, generateOtpSecret, hotp } from '../../src/core/otp.ts';
import type { Language } from '../../src/i18n.ts';
import {
  browserAgent,
  changeSettings,
  createUser,
  signIn,
  trustLoopback,
  type TestPortal,
} from './app.ts';
import { cliContext, userContext } from './context.ts';
import { appCode, enrolApp, post } from './two-step.ts';

type Agent = ReturnType<typeof supertest.agent>;
/** What the helpers need of a portal: the one interface to its core. */
type Core = { mfa: MfaService };

export const accountPassword = 'correct horse battery';

/** The helpdesk edits a user's details (SPEC A2); throws if the core refuses the edit. */
export async function editUser(services: Core, userId: string, edit: UserEdit) {
  const edited = await services.mfa.administration.editUser(cliContext, { userId, ...edit });
  if (edited.outcome !== 'saved') throw new Error(`edit refused: ${JSON.stringify(edited)}`);
  return edited.account;
}

/** A user's account as the helpdesk sees it (SPEC A2), by username. */
export async function accountOf(services: Core, username: string) {
  const account = await services.mfa.administration.findUser(cliContext, { username });
  if (!account) throw new Error(`no user ${username}`);
  return account;
}

/** A user's devices (no secrets, no counters) as the core shows the account. */
export async function devicesOf(services: Core, userId: string) {
  const journey = await services.mfa.signIn.journey(userContext(userId), {
    userId,
    pendingUserId: undefined,
  });
  return 'account' in journey ? journey.account.devices : [];
}

/**
 * A user who has just enrolled the mobile app through User Setup, signed in, with a fresh proof
 * (enrolment proves the factor): ready for self-service changes. Returns the app's secret.
 */
export async function enrolledUser(
  portal: TestPortal,
  username = 'lotte',
  options: { email?: string; language?: 'en' | 'nl' | 'fr' } = {},
) {
  const created = await createUser(portal, username, accountPassword);
  if (options.email || options.language) {
    await editUser(portal.services, created.id, {
      email: options.email ?? null,
      language: options.language ?? null,
    });
  }
  const agent = browserAgent(portal);
  const signedIn = await signIn(agent, username, accountPassword);
  if (signedIn.status !== 303) throw new Error(`sign-in answered ${signedIn.status}`);
  const secret = await enrolApp(agent);
  return { agent, secret, user: await accountOf(portal.services, username) };
}

/**
 * Signs the user in again from a trusted address: a real session, but without a second-factor
 * proof, as after a trusted-IP or bypass sign-in. Changes to factors must then ask for one.
 */
export async function signInWithoutProof(portal: TestPortal, username = 'lotte'): Promise<Agent> {
  await trustLoopback(portal);
  const agent = browserAgent(portal);
  const signedIn = await signIn(agent, username, accountPassword);
  if (signedIn.headers.location !== '/account') throw new Error('trusted sign-in failed');
  await changeSettings(portal.services, { trustedIps: [] });
  return agent;
}

/** Proves the app again on /account/confirm with the code of a later time step (no replay). */
export async function confirmWithApp(agent: Agent, secret: Buffer, offsetSteps = 1) {
  const page = await agent.get('/account/confirm').expect(200);
  return post(agent, '/account/confirm', page.text, {
    method: 'app',
    code: appCode(secret, offsetSteps),
  });
}

/**
 * A second app activation (named `name`) or an OATH token (TOTP, serial `name`), added by the
 * user on My account as another tab would add it: proven with the code of the time step before,
 * so that the current one is still unused. Returns the new device's secret.
 */
export async function addDevice(
  services: Core,
  userId: string,
  device: { kind: 'app' | 'token'; name: string },
): Promise<Buffer> {
  const { account } = services.mfa;
  const context = userContext(userId);
  if (device.kind === 'token') {
    const secret = generateOtpSecret();
    const token = {
      serial: device.name,
      secret: encodeBase32(secret),
      ...{ otpType: 'totp', digits: '6', period: '30', algorithm: 'SHA1' },
      code: appCode(secret, -1),
    };
    const saved = await account.associateToken(context, { userId, token });
    if (saved.outcome !== 'saved') throw new Error(`token refused: ${JSON.stringify(saved)}`);
    return secret;
  }
  const begun = await account.beginDevice(context, { userId, name: device.name });
  if (begun.outcome !== 'started') throw new Error(`app refused: ${JSON.stringify(begun)}`);
  const activation = await account.deviceActivation(context, {
    userId,
    draftId: begun.draftId,
    issuer: 'Test',
  });
  const secret = decodeBase32(activation?.secret ?? '');
  const activated = await account.activateDevice(context, {
    userId,
    draftId: begun.draftId,
    code: appCode(secret, -1),
    pin: '',
    pinConfirmation: '',
  });
  if (activated.outcome !== 'activated')
    throw new Error(`app refused: ${JSON.stringify(activated)}`);
  return secret;
}

/**
 * Finishes a proven User Setup with these answers (to the first questions, in order). With no
 * answers, the helpdesk switches the security questions off for the moment of saving, as a
 * portal without them would save it, and back on.
 */
async function completeSetup(
  mfa: MfaService,
  context: Context,
  userId: string,
  draftId: string,
  answers: readonly string[],
) {
  const { useSecurityQuestions } = await mfa.signIn.settings(context);
  const skipQuestions = answers.length === 0 && useSecurityQuestions;
  if (skipQuestions) await changeSettings({ mfa }, { useSecurityQuestions: false });
  try {
    const { questions } = await mfa.enrolment.questions(context, { userId });
    const given = answers.map((answer, i) => ({ questionId: questions[i]?.id ?? '', answer }));
    const completed = await mfa.enrolment.complete(context, { userId, draftId, answers: given });
    if (completed.outcome !== 'enrolled') {
      throw new Error(`User Setup not saved: ${JSON.stringify(completed)}`);
    }
  } finally {
    if (skipQuestions) await changeSettings({ mfa }, { useSecurityQuestions: true });
  }
}

/** A user added by the helpdesk, with the language given (or none). */
async function newUser(
  services: Core,
  username: string,
  password: string,
  options: { language?: Language; role?: 'user' | 'admin' } = {},
) {
  const user = await createUser({ services }, username, password, options.role);
  return options.language ? editUser(services, user.id, { language: options.language }) : user;
}

/**
 * A user (or, with `role`, an administrator) enrolled with the mobile app through the User
 * Setup of the core (no pages): the app their default method, the questions answered in that order (none by default) and a PIN if
 * given (with the app's code in PIN mode, else set by the helpdesk). The app was proven with
 * the code of the time step before, so the current one signs in.
 */
export async function enrolWithApp(
  services: Core,
  username: string,
  password: string,
  options: {
    language?: Language;
    pin?: string;
    answers?: readonly string[];
    role?: 'user' | 'admin';
  } = {},
) {
  const { mfa } = services;
  const user = await newUser(services, username, password, options);
  const context = userContext(user.id);
  const userId = user.id;
  const { draftId } = await mfa.enrolment.generateAppSeed(context, { userId });
  const setup = await mfa.enrolment.appSetup(context, { userId, draftId, issuer: 'Test' });
  const secret = decodeBase32(setup.activation?.secret ?? '');
  const pin = setup.pin.required ? (options.pin ?? '') : '';
  const proven = await mfa.enrolment.proveApp(context, {
    userId,
    draftId,
    code: appCode(secret, -1),
    pin,
    pinConfirmation: pin,
  });
  if (proven.outcome !== 'proven') throw new Error(`app not proven: ${JSON.stringify(proven)}`);
  await completeSetup(mfa, context, userId, draftId, options.answers ?? []);
  if (options.pin && !setup.pin.required) {
    const set = await mfa.administration.resetPin(cliContext, {
      userId,
      generate: false,
      pin: options.pin,
      pinConfirmation: options.pin,
    });
    if (set.outcome !== 'reset') throw new Error(`PIN refused: ${JSON.stringify(set)}`);
  }
  return { user: await accountOf(services, username), secret };
}

/**
 * A user with the mobile app already set up (no pages, no questions): the app is their default
 * method. Returns the app's secret.
 */
export async function createAppUser(
  services: Core,
  username: string,
  password: string,
): Promise<Buffer> {
  return (await enrolWithApp(services, username, password)).secret;
}

/**
 * A user whose only way to sign in is an HOTP token (serial `HOTP-7`, SHA1, 6 digits), set up
 * in the core's User Setup with its code at counter 0: the portal expects `code(1)` next.
 * Returns the user and the token's code at any counter.
 */
export async function createHotpTokenUser(
  services: Core,
  username: string,
  password: string,
  options: { language?: Language } = {},
) {
  const { mfa } = services;
  const user = await newUser(services, username, password, options);
  const context = userContext(user.id);
  const secret = generateOtpSecret();
  const params = { otpType: 'hotp', algorithm: 'SHA1', digits: 6, period: 30 } as const;
  const code = (counter: number) => hotp(secret, counter, params);
  const token = {
    serial: 'HOTP-7',
    secret: encodeBase32(secret),
    ...{ otpType: 'hotp', digits: '6', period: '30', algorithm: 'SHA1' },
    code: code(0),
  };
  const proven = await mfa.enrolment.proveToken(context, { userId: user.id, token });
  if (proven.outcome !== 'proven') throw new Error(`token not proven: ${JSON.stringify(proven)}`);
  await completeSetup(mfa, context, user.id, proven.draftId, []);
  return { user: await accountOf(services, username), code };
}
