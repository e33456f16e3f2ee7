import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  browserAgent,
  createTestPortal,
  createUser,
  csrfTokenFrom,
  headingOf,
  trustLoopback,
  type TestPortal,
} from '../helpers/app.ts';
import { listen, sendRaw, type Listening } from '../helpers/raw-http.ts';

/*
 * SPEC S9: requests no page answers (odd methods, a target that is not a path) get a clear 4xx
 * page, never a 5xx; the base path in another case, as IIS accepts it, leads to the canonical one.
 */

describe.each(['', '/MultiFactorAuth'])('odd requests (BASE_PATH "%s")', (basePath) => {
  let portal: TestPortal;
  let server: Listening;
  beforeAll(async () => {
    portal = await createTestPortal({ BASE_PATH: basePath });
    server = await listen(portal.app);
  });
  afterAll(async () => {
    await server.close();
    await portal.close();
  });

  it.each([
    'OPTIONS * HTTP/1.1',
    'GET * HTTP/1.1',
    'POST * HTTP/1.1',
    `OPTIONS ${basePath}/sign-in HTTP/1.1`,
    `TRACE ${basePath}/sign-in HTTP/1.1`,
    `PROPFIND ${basePath}/ HTTP/1.1`,
    `PUT ${basePath}/account HTTP/1.1`,
    `DELETE ${basePath}/account HTTP/1.1`,
  ])('%s gets a 4xx page in the user’s language', async (requestLine) => {
    const response = await sendRaw(server.port, requestLine, {
      'Accept-Language': 'nl',
      'Content-Length': '0',
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(response.body).toContain('<html lang="nl">');
    expect(headingOf(response.body)).toBe('Het verzoek kon niet worden verwerkt');
    expect(response.headers['content-security-policy']).toContain("script-src 'none'");
  });

  it('tells which methods a page accepts', async () => {
    const response = await sendRaw(server.port, 'OPTIONS * HTTP/1.1');
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD, POST');
  });
});

describe('the base path in another case (IIS URLs ignore case, cookies do not)', () => {
  let portal: TestPortal;
  beforeAll(async () => {
    portal = await createTestPortal({ BASE_PATH: '/MultiFactorAuth' });
    await trustLoopback(portal);
    await createUser(portal, 'kees', 'a long enough password');
  });
  afterAll(async () => {
    await portal.close();
  });

  it.each([
    ['/multifactorauth/sign-in?lng=nl', '/MultiFactorAuth/sign-in?lng=nl'],
    ['/MULTIFACTORAUTH/', '/MultiFactorAuth/'],
    ['/multiFactorAuth', '/MultiFactorAuth'],
    ['/multifactorauth/account', '/MultiFactorAuth/account'],
  ])('GET %s is sent to %s', async (path, canonical) => {
    const response = await supertest(portal.app).get(path).expect(302);
    expect(response.headers.location).toBe(canonical);
    await supertest(portal.app).head(path).expect(302).expect('Location', canonical);
  });

  it('sends a form to the canonical address, where the browser’s cookie and CSRF token apply', async () => {
    const agent = browserAgent(portal);
    const page = await agent.get('/MultiFactorAuth/sign-in').expect(200);
    const form = {
      _csrf: csrfTokenFrom(page.text),
      username: 'kees',
      password: 'a long enough password',
    };
    const misspelt = await agent
      .post('/multifactorauth/sign-in')
      .type('form')
      .send(form)
      .redirects(0)
      .expect(307);
    expect(misspelt.headers.location).toBe('/MultiFactorAuth/sign-in');
    const signedIn = await agent.post('/MultiFactorAuth/sign-in').type('form').send(form);
    expect(signedIn.status).toBe(303);
    await agent.get('/MultiFactorAuth/account').expect(200);
    expect((await agent.get('/multifactorauth/account').redirects(1)).status).toBe(200);
  });

  it('still answers 404 for a path that only begins like the base path', async () => {
    await supertest(portal.app).get('/multifactorauthx/sign-in').expect(404);
  });
});
