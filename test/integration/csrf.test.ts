import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  browserAgent,
  createTestPortal,
  createUser,
  csrfTokenFrom,
  signIn,
  trustLoopback,
  type TestPortal,
} from '../helpers/app.ts';

let portal: TestPortal;
beforeEach(async () => {
  portal = await createTestPortal();
  await trustLoopback(portal);
  await createUser(portal, 'piet', 'a long enough password');
});
afterEach(async () => {
  await portal.close();
});

describe('CSRF protection (SPEC S1)', () => {
  it('refuses a form without a token with the localised 403 page', async () => {
    const agent = browserAgent(portal);
    await agent.get('/sign-in?lng=nl');
    const response = await agent
      .post('/sign-in')
      .type('form')
      .send({ username: 'piet', password: 'a long enough password' })
      .expect(403);
    expect(response.text).toContain('Dit formulier is verlopen');
    expect(response.text).toContain('<html lang="nl">');
    expect((await agent.get('/account')).status).toBe(302);
  });

  it('refuses a wrong token, and a token taken from another session', async () => {
    const agent = browserAgent(portal);
    const token = csrfTokenFrom((await agent.get('/sign-in')).text);
    const body = { username: 'piet', password: 'a long enough password' };
    await agent
      .post('/sign-in')
      .type('form')
      .send({ ...body, _csrf: `${token}x` })
      .expect(403);

    const otherToken = csrfTokenFrom((await browserAgent(portal).get('/sign-in')).text);
    expect(otherToken).not.toBe(token);
    await agent
      .post('/sign-in')
      .type('form')
      .send({ ...body, _csrf: otherToken })
      .expect(403);
    await agent
      .post('/sign-in')
      .type('form')
      .send({ ...body, _csrf: token })
      .expect(303);
  });

  it('keeps one token per session and issues a new one with the signed-in session', async () => {
    const agent = browserAgent(portal);
    const first = csrfTokenFrom((await agent.get('/sign-in')).text);
    const second = csrfTokenFrom((await agent.get('/sign-in?lng=fr')).text);
    expect(second).toBe(first);

    await agent
      .post('/sign-in')
      .type('form')
      .send({ _csrf: first, username: 'piet', password: 'a long enough password' })
      .expect(303);
    const signedIn = csrfTokenFrom((await agent.get('/account')).text);
    expect(signedIn).not.toBe(first);
    // The token of the anonymous session is worthless in the new one.
    await agent.post('/sign-out').type('form').send({ _csrf: first }).expect(403);
    await agent.post('/sign-out').type('form').send({ _csrf: signedIn }).expect(303);
  });

  it('protects sign-out too: a cross-site post cannot end a session', async () => {
    const agent = browserAgent(portal);
    await signIn(agent, 'piet', 'a long enough password');
    await agent.post('/sign-out').type('form').send({}).expect(403);
    await agent.get('/account').expect(200);
  });
});
