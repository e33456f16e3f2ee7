import type supertest from 'supertest';
import { normaliseAnswer } from '../../src/core/answers.ts';
import { appDeviceParameters, newDeviceRow, type OtpDevice } from '../../src/core/devices.ts';
import { hashSecret } from '../../src/core/passwords.ts';
import { generateOtpSecret, hotp } from '../../src/core/otp.ts';
import type { Language } from '../../src/i18n.ts';
import type { Services } from '../../src/services.ts';
import { browserAgent, createUser, signIn, trustLoopback, type TestPortal } from './app.ts';
import { appCode, enrolApp, post } from './two-step.ts';

type Agent = ReturnType<typeof supertest.agent>;

export const accountPassword = 'correct horse battery';

/**
 * A user who has just enrolled the mobile app through User Setup, signed in, with a fresh proof
 * (enrolment proves the factor): ready for self-service changes. Returns the app's secret.
 */
export async function enrolledUser(
  portal: TestPortal,
  username = 'lotte',
  options: { email?: string; language?: 'en' | 'nl' | 'fr' } = {},
) {
  const user = await createUser(portal, username, accountPassword);
  const { users, database } = portal.services;
  if (options.email || options.language) {
    await database.db
      .updateTable('users')
      .set({ email: options.email ?? null, language: options.language ?? null })
      .where('id', '=', user.id)
      .execute();
  }
  const agent = browserAgent(portal);
  const signedIn = await signIn(agent, username, accountPassword);
  if (signedIn.status !== 303) throw new Error(`sign-in answered ${signedIn.status}`);
  const secret = await enrolApp(agent);
  const saved = await users.findById(user.id);
  if (!saved) throw new Error('user vanished');
  return { agent, secret, user: saved };
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
  await portal.services.settings.write('trustedIps', []);
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

/** A device row saved straight to the database, as User Setup or My account would save it. */
export async function saveDevice(
  services: Services,
  device: {
    userId: string;
    kind: 'app' | 'token';
    name: string;
    serial: string | null;
    secret: Buffer;
    params: OtpDevice;
  },
): Promise<void> {
  await services.database.db
    .insertInto('devices')
    .values(
      newDeviceRow({
        ...device,
        counter: null,
        lastStep: null,
        key: services.encryptionKey,
        now: Date.now(),
      }),
    )
    .execute();
}

/**
 * A user with the mobile app already set up, saved straight to the database (no User Setup, no
 * questions): the app is their default method. Returns the app's secret.
 */
export async function createAppUser(
  services: Services,
  username: string,
  password: string,
): Promise<Buffer> {
  const user = await services.users.create({
    username,
    displayName: `${username} display`,
    passwordHash: await services.accounts.hashPassword(password),
    role: 'user',
  });
  const secret = generateOtpSecret();
  await saveDevice(services, {
    userId: user.id,
    kind: 'app',
    name: 'Phone',
    serial: null,
    secret,
    params: appDeviceParameters,
  });
  await services.database.db
    .updateTable('users')
    .set({ default_method: 'app', enrolled_at: Date.now() })
    .where('id', '=', user.id)
    .execute();
  return secret;
}

/**
 * A user whose only way to sign in is an HOTP token (serial `HOTP-7`, SHA1, 6 digits), its counter
 * at 0 in the portal. Returns the user and the token's code at any counter.
 */
export async function createHotpTokenUser(
  services: Services,
  username: string,
  password: string,
  options: { language?: Language } = {},
) {
  const user = await services.users.create({
    username,
    passwordHash: await services.accounts.hashPassword(password),
    role: 'user',
  });
  const secret = generateOtpSecret();
  const params = { otpType: 'hotp', algorithm: 'SHA1', digits: 6, period: 30 } as const;
  await saveDevice(services, {
    userId: user.id,
    kind: 'token',
    name: 'HOTP-7',
    serial: 'HOTP-7',
    secret,
    params,
  });
  await services.database.db
    .updateTable('users')
    .set({ default_method: 'token', enrolled_at: Date.now(), language: options.language ?? null })
    .where('id', '=', user.id)
    .execute();
  const code = (counter: number) => hotp(secret, counter, params);
  return { user, code };
}

/**
 * A user enrolled with the mobile app as User Setup leaves them, saved straight to the database:
 * the app their default method, the questions answered in that order (none by default) and a PIN
 * if given. The app has accepted no code yet, so the current one signs in.
 */
export async function enrolWithApp(
  services: Services,
  username: string,
  password: string,
  options: { language?: Language; pin?: string; answers?: readonly string[] } = {},
) {
  const { users, accounts, questions, argon2 } = services;
  const user = await users.create({
    username,
    displayName: username,
    passwordHash: await accounts.hashPassword(password),
    role: 'user',
  });
  const secret = generateOtpSecret();
  await saveDevice(services, {
    userId: user.id,
    kind: 'app',
    name: 'Mobile app 1',
    serial: null,
    secret,
    params: appDeviceParameters,
  });
  await services.database.db
    .updateTable('users')
    .set({
      default_method: 'app',
      enrolled_at: Date.now(),
      ...(options.pin ? { pin_hash: await hashSecret(options.pin, argon2) } : {}),
    })
    .where('id', '=', user.id)
    .execute();
  const answers = options.answers ?? [];
  if (answers.length > 0) {
    const asked = await questions.forLanguage('en');
    await questions.replaceAnswers(
      user.id,
      await Promise.all(
        answers.map(async (answer, i) => ({
          question_id: asked[i]?.id ?? '',
          answer_hash: await hashSecret(normaliseAnswer(answer), argon2),
        })),
      ),
    );
  }
  if (options.language) await users.setLanguage(user.id, options.language);
  return { user, secret };
}
