import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPortal, headingOf, type TestPortal } from '../helpers/app.ts';

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
