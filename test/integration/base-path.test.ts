import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import supertest from 'supertest';
import {
  browserAgent,
  createTestPortal,
  createUser,
  csrfTokenFrom,
  trustLoopback,
  type TestPortal,
} from '../helpers/app.ts';

let portal: TestPortal;
beforeAll(async () => {
  portal = await createTestPortal({ BASE_PATH: '/MultiFactorAuth' });
  await trustLoopback(portal);
  await createUser(portal, 'kees', 'a long enough password');
});
afterAll(async () => {
  await portal.close();
});

describe('BASE_PATH (IIS virtual directory, SPEC C3)', () => {
  it('serves pages, assets and links under the base path', async () => {
    const response = await supertest(portal.app).get('/MultiFactorAuth/sign-in').expect(200);
    expect(response.text).toContain('href="/MultiFactorAuth/assets/styles.css"');
    expect(response.text).toContain('action="/MultiFactorAuth/sign-in"');
    expect(response.text).toContain('href="/MultiFactorAuth/sign-in?lng=nl"');
    await supertest(portal.app)
      .get('/MultiFactorAuth/assets/styles.css')
      .expect(200)
      .expect('Content-Type', /css/);
    await supertest(portal.app).get('/MultiFactorAuth/healthz').expect(200);
  });

  it('redirects within the base path and scopes its cookies to it', async () => {
    const agent = browserAgent(portal);
    const root = await agent.get('/MultiFactorAuth/').expect(302);
    expect(root.headers.location).toBe('/MultiFactorAuth/sign-in');
    expect(String(root.headers['set-cookie'])).not.toContain('mfa.sid=');
    const page = await agent.get('/MultiFactorAuth/sign-in?lng=nl');
    const cookies = page.headers['set-cookie'] as unknown as string[];
    expect(cookies.find((c) => c.startsWith('mfa.csrf='))).toContain('Path=/MultiFactorAuth;');
    expect(cookies.find((c) => c.startsWith('lang='))).toContain('Path=/MultiFactorAuth;');

    const signedIn = await agent
      .post('/MultiFactorAuth/sign-in')
      .type('form')
      .send({
        _csrf: csrfTokenFrom(page.text),
        username: 'kees',
        password: 'a long enough password',
      })
      .expect(303);
    expect(signedIn.headers.location).toBe('/MultiFactorAuth/account');
    const session = (signedIn.headers['set-cookie'] as unknown as string[]).find((c) =>
      c.startsWith('mfa.sid='),
    );
    expect(session).toContain('Path=/MultiFactorAuth;');
    await agent.get('/MultiFactorAuth/account').expect(200);
  });

  it('answers 404 outside the base path', async () => {
    const response = await supertest(portal.app).get('/sign-in').expect(404);
    expect(response.text).toContain('Page not found');
  });
});
