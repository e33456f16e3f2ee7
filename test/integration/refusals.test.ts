import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  browserAgent,
  createTestPortal,
  createUser,
  csrfTokenFrom,
  headingOf,
  type TestPortal,
} from '../helpers/app.ts';
import { accountOf } from '../helpers/account.ts';
import { cliContext } from '../helpers/context.ts';

/*
 * A 403 says why: a form whose CSRF token failed has expired (SPEC S1), any other refusal is a
 * page the user cannot open. Both in the user's language.
 */

let portal: TestPortal;
beforeAll(async () => {
  portal = await createTestPortal();
});
afterAll(async () => {
  await portal.close();
});

describe('403 pages', () => {
  it.each([
    ['en', 'This form has expired'],
    ['nl', 'Dit formulier is verlopen'],
    ['fr', 'Ce formulaire a expiré'],
  ])('a form without its CSRF token has expired (%s)', async (lng, heading) => {
    const response = await supertest(portal.app)
      .post(`/sign-in?lng=${lng}`)
      .type('form')
      .send({ username: 'someone', password: 'anything at all' })
      .expect(403);
    expect(response.text).toContain(`<html lang="${lng}">`);
    expect(headingOf(response.text)).toBe(heading);
  });

  it.each([
    ['en', 'You cannot open this page'],
    ['nl', 'U kunt deze pagina niet openen'],
    ['fr', 'Vous ne pouvez pas ouvrir cette page'],
  ])(
    'a forbidden path is a page the user cannot open, not an expired form (%s)',
    async (lng, heading) => {
      const response = await supertest(portal.app)
        .get('/assets/%2e%2e/config/default.json')
        .set('Accept-Language', lng)
        .expect(403);
      expect(response.text).toContain(`<html lang="${lng}">`);
      expect(headingOf(response.text)).toBe(heading);
      expect(response.text).not.toMatch(/expired|verlopen|expiré/);
    },
  );
});

describe('form bodies', () => {
  it('refuses bytes that are not UTF-8 with 400, counting and writing nothing', async () => {
    const user = await createUser(portal, 'utf8-user', 'a right password');
    const agent = browserAgent(portal);
    const page = await agent.get('/sign-in').expect(200);
    const token = encodeURIComponent(csrfTokenFrom(page.text));
    for (const bad of ['%FF', '%C3', '%ED%A0%80', '%C0%AF']) {
      const response = await agent
        .post('/sign-in')
        .type('form')
        .send(`_csrf=${token}&username=utf8-user&password=a%20right%20password${bad}`);
      expect(response.status).toBe(400);
      // Refused before the form is read: not a wrong password on the sign-in form again.
      expect(response.text).not.toContain('name="password"');
    }
    expect((await accountOf(portal.services, 'utf8-user')).failedAttempts).toBe(0);
    const audit = await portal.services.mfa.administration.auditEvents(cliContext, {
      userId: user.id,
    });
    // Only the helpdesk's creation of the account: no attempt at all.
    expect(audit.map((e) => e.type)).toEqual(['user.created']);
    // What a person types in any language still arrives as typed.
    const typed = await agent
      .post('/sign-in')
      .type('form')
      .send(`_csrf=${token}&username=Ren%C3%A9e&password=wrong`);
    expect(typed.status).toBe(400);
    expect(typed.text).toContain('Renée');
  });
});
