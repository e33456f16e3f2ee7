import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import {
  browserAgent,
  createTestPortal,
  createUser,
  csrfTokenFrom,
  type TestPortal,
} from '../helpers/app.ts';

/**
 * SPEC D3: under IIS with Windows authentication, iisnode passes the user IIS authenticated as
 * X-iisnode-AUTH_USER (promoteServerVars). A client can send that header itself: IIS then
 * appends its own value, so two values are refused; and away from iisnode the header is
 * nobody's word at all.
 */
const header = 'X-iisnode-AUTH_USER';

async function windowsSignIn(portal: TestPortal, identity?: string | string[]) {
  const agent = browserAgent(portal);
  const page = await agent.get('/sign-in').expect(200);
  const request = agent.post('/sign-in/windows').type('form');
  if (typeof identity === 'string') request.set(header, identity);
  else if (identity !== undefined) request.set(header, identity.join(', '));
  const response = await request.send({ _csrf: csrfTokenFrom(page.text) });
  return { agent, page, response };
}

describe('Windows sign-in under iisnode (SPEC D3)', () => {
  let portal: TestPortal;
  beforeAll(async () => {
    portal = await createTestPortal({
      IISNODE_VERSION: '0.2.26',
      PRIMARY_AUTHENTICATION: 'windows',
      LDAP_DOMAINS: 'EXAMPLE',
    });
    await createUser(portal, 'admin', 'local admin password', 'admin');
  });
  afterAll(async () => {
    await portal.close();
  });

  it('offers "Continue with my Windows account" and signs the user IIS names in, on to User Setup', async () => {
    const { page, response, agent } = await windowsSignIn(portal, 'EXAMPLE\\wendy');
    expect(page.text).toContain('Continue with my Windows account');
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe('/setup');
    await agent.get('/setup').expect(200);
    expect((await portal.services.users.findByUsername('wendy'))?.directory).toBe('windows');
  });

  it('refuses a request carrying the header twice: a forged value before the one IIS appended', async () => {
    for (const forged of [['EXAMPLE\\admin', 'EXAMPLE\\wendy'], 'EXAMPLE\\admin, EXAMPLE\\wendy']) {
      const { response } = await windowsSignIn(portal, forged);
      expect(response.status).toBe(400);
      expect(response.headers['set-cookie']?.toString() ?? '').not.toContain('mfa.sid');
    }
  });

  it('refuses no name, another domain, and a local account with a password whatever Windows calls it', async () => {
    for (const identity of [undefined, '', 'OTHER\\wendy', 'wendy', 'EXAMPLE\\admin']) {
      const { response } = await windowsSignIn(portal, identity);
      expect(response.status, String(identity)).toBe(403);
      expect(response.text).toContain('Windows did not tell the portal who you are');
    }
  });
});

describe('Windows sign-in anywhere else (SPEC D3)', () => {
  it('is not a configuration the portal starts with away from iisnode', () => {
    expect(() =>
      loadConfig({ env: { PRIMARY_AUTHENTICATION: 'windows', DATABASE_URL: 'sqlite::memory:' } }),
    ).toThrow(/PRIMARY_AUTHENTICATION windows works only under IIS with iisnode/);
  });

  it('ignores the header when the portal does not run under iisnode: there is no such sign-in', async () => {
    const portal = await createTestPortal();
    try {
      await createUser(portal, 'wendy', 'a local password');
      const { response, page } = await windowsSignIn(portal, 'EXAMPLE\\wendy');
      expect(page.text).not.toContain('Continue with my Windows account');
      expect(response.status).toBe(404);
      expect(response.headers['set-cookie']?.toString() ?? '').not.toContain('mfa.sid');
    } finally {
      await portal.close();
    }
  });
});
