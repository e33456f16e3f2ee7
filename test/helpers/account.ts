import type supertest from 'supertest';
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
