import type supertest from 'supertest';
import { expect } from 'vitest';
import { accountOf, accountPassword, createAppUser, signInWithoutProof } from './account.ts';
import { csrfTokenFrom, type TestPortal } from './app.ts';
import { cliContext } from './context.ts';

type Agent = ReturnType<typeof supertest.agent>;

/** The 403 page's heading for a permission the administrator lacks (SPEC A1). */
export const notAllowedHeading = 'You do not have access to this page';

/**
 * An administrator with the mobile app and these grants (a permission and a group, or null for
 * every group), signed in from a trusted address. Returns the id and the signed-in agent.
 */
export async function signedInAdministrator(
  portal: TestPortal,
  username: string,
  grants: [string, string | null][],
): Promise<{ id: string; agent: Agent }> {
  await createAppUser(portal.services, username, accountPassword);
  const { id } = await accountOf(portal.services, username);
  for (const [permission, group] of grants) {
    await portal.services.mfa.administration.grant(cliContext, { userId: id, permission, group });
  }
  return { id, agent: await signInWithoutProof(portal, username) };
}

/** Posts a form of the admin console with the session's CSRF token, as its page would. */
export async function sendAdminForm(
  agent: Agent,
  path: string,
  fields: Record<string, string> = {},
  status?: number,
) {
  const token = csrfTokenFrom((await agent.get('/admin').expect(200)).text);
  const response = await agent
    .post(path)
    .type('form')
    .send({ _csrf: token, ...fields })
    .redirects(0);
  if (status !== undefined) expect(response.status, path).toBe(status);
  return response;
}

/** What an admin action could change about a user: their row, devices, bypasses, grants, audit. */
export async function userState(portal: TestPortal, userId: string): Promise<string> {
  const { db } = portal.services.database;
  return JSON.stringify([
    await db.selectFrom('users').selectAll().where('id', '=', userId).execute(),
    await db.selectFrom('devices').selectAll().where('user_id', '=', userId).execute(),
    await db.selectFrom('bypasses').selectAll().where('user_id', '=', userId).execute(),
    await db.selectFrom('admin_grants').selectAll().where('user_id', '=', userId).execute(),
    await db.selectFrom('audit_events').select('type').where('user_id', '=', userId).execute(),
  ]);
}
