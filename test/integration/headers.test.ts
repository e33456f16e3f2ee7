import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import supertest from 'supertest';
import {
  browserAgent,
  createTestPortal,
  createUser,
  csrfTokenFrom,
  headingOf,
  trustLoopback,
  type TestPortal,
} from '../helpers/app.ts';
import { startUpWarnings } from '../helpers/logs.ts';
import { listen, sendRaw } from '../helpers/raw-http.ts';

describe('security headers (SPEC S3)', () => {
  let portal: TestPortal;
  beforeAll(async () => {
    portal = await createTestPortal();
  });
  afterAll(async () => {
    await portal.close();
  });

  it.each(['/sign-in', '/does-not-exist', '/assets/styles.css'])(
    '%s carries a CSP that allows no script',
    async (path) => {
      const response = await supertest(portal.app).get(path);
      const csp = String(response.headers['content-security-policy']);
      expect(csp).toContain("script-src 'none'");
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(response.headers['referrer-policy']).toBe('no-referrer');
      expect(response.headers['x-powered-by']).toBeUndefined();
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    },
  );

  it('sends no HSTS over plain HTTP and no-store on pages', async () => {
    const response = await supertest(portal.app).get('/sign-in').expect(200);
    expect(response.headers['strict-transport-security']).toBeUndefined();
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.text).not.toMatch(/<script/i);
  });

  it('sets the session cookie HttpOnly and SameSite=Lax, and the form cookie before it', async () => {
    await trustLoopback(portal);
    await createUser(portal, 'bram', 'a long enough password');
    const cookieNamed = (response: { headers: Record<string, unknown> }, name: string) =>
      ((response.headers['set-cookie'] ?? []) as string[]).find((c) => c.startsWith(`${name}=`));
    const agent = browserAgent(portal);
    const page = await agent.get('/sign-in').expect(200);
    expect(cookieNamed(page, 'mfa.sid')).toBeUndefined();
    expect(cookieNamed(page, 'mfa.csrf')).toMatch(/HttpOnly/);
    expect(cookieNamed(page, 'mfa.csrf')).toMatch(/SameSite=Strict/);
    const signedIn = await agent
      .post('/sign-in')
      .type('form')
      .send({
        _csrf: csrfTokenFrom(page.text),
        username: 'bram',
        password: 'a long enough password',
      })
      .expect(303);
    const cookie = cookieNamed(signedIn, 'mfa.sid');
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);
  });
});

describe('under HTTPS (SSL_REQUIRED behind a proxy)', () => {
  let portal: TestPortal;
  beforeAll(async () => {
    portal = await createTestPortal({
      SSL_REQUIRED: 'true',
      TRUST_PROXY: 'loopback',
      PORTAL_URL: 'https://mfa.example.org/',
    });
    await trustLoopback(portal);
    await createUser(portal, 'anna', 'a long enough password');
  });
  afterAll(async () => {
    await portal.close();
  });

  it('redirects plain HTTP to the HTTPS origin of PORTAL_URL, whatever the Host header says', async () => {
    const response = await supertest(portal.app)
      .get('/sign-in?lng=fr')
      .set('Host', 'evil.example')
      .expect(301);
    expect(response.headers.location).toBe('https://mfa.example.org/sign-in?lng=fr');

    const server = await listen(portal.app);
    try {
      for (const target of ['//evil.example/x', '/\\evil.example/x', 'http://evil.example/x']) {
        const tricked = await sendRaw(server.port, `GET ${target} HTTP/1.1`, {
          Host: 'evil.example',
        });
        expect(tricked.status, target).toBe(301);
        expect(new URL(tricked.headers.location ?? '').host, target).toBe('mfa.example.org');
      }
    } finally {
      await server.close();
    }
  });

  it('answers a form sent over plain HTTP with a page in the user’s language', async () => {
    const response = await supertest(portal.app)
      .post('/sign-in?lng=nl')
      .type('form')
      .send({ username: 'anna', password: 'a long enough password' })
      .expect(403)
      .expect('Content-Type', /html/);
    expect(response.headers.location).toBeUndefined();
    expect(headingOf(response.text)).toBe('Dit portaal werkt alleen via HTTPS');
  });

  it('sends HSTS and __Host- cookies that are Secure with Path=/', async () => {
    const agent = browserAgent(portal);
    const response = await agent.get('/sign-in').set('X-Forwarded-Proto', 'https').expect(200);
    expect(response.headers['strict-transport-security']).toMatch(/max-age=31536000/);
    const cookie = (response.headers['set-cookie'] as unknown as string[]).find((c) =>
      c.startsWith('__Host-mfa.csrf='),
    );
    expect(cookie).toMatch(/; Path=\/;/);
    expect(cookie).toMatch(/Secure/);
    expect(String(response.headers['content-security-policy'])).toContain(
      'upgrade-insecure-requests',
    );
  });

  it('signs in over HTTPS with the secure cookie', async () => {
    // The test client keeps Secure cookies away from http://, so the cookie is carried by hand,
    // as the browser does behind the TLS-terminating proxy.
    const app = supertest(portal.app);
    const page = await app.get('/sign-in').set('X-Forwarded-Proto', 'https');
    const cookieOf = (response: { headers: Record<string, unknown> }, name: string) =>
      ((response.headers['set-cookie'] ?? []) as string[])
        .find((c) => c.startsWith(`__Host-mfa.${name}=`))
        ?.split(';')[0] ?? '';
    const signedIn = await app
      .post('/sign-in')
      .set('X-Forwarded-Proto', 'https')
      .set('Cookie', cookieOf(page, 'csrf'))
      .type('form')
      .send({
        _csrf: csrfTokenFrom(page.text),
        username: 'anna',
        password: 'a long enough password',
      })
      .expect(303);
    await app
      .get('/account')
      .set('X-Forwarded-Proto', 'https')
      .set('Cookie', cookieOf(signedIn, 'sid'))
      .expect(200);
  });
});

describe('SSL_REQUIRED without PORTAL_URL', () => {
  let portal: TestPortal;
  beforeAll(async () => {
    portal = await createTestPortal({ SSL_REQUIRED: 'true', TRUST_PROXY: 'loopback' });
  });
  afterAll(async () => {
    await portal.close();
  });

  it.each([
    ['en', 'This portal is only available over HTTPS'],
    ['nl', 'Dit portaal werkt alleen via HTTPS'],
    ['fr', 'Ce portail n’est accessible qu’en HTTPS'],
  ])('does not redirect to the host a client names, and says so (%s)', async (lng, heading) => {
    for (const request of [
      supertest(portal.app).get('/sign-in'),
      supertest(portal.app).post('/sign-in').type('form').send({ username: 'x' }),
    ]) {
      const response = await request
        .set('Host', 'evil.example')
        .set('Accept-Language', lng)
        .expect(403);
      expect(response.headers.location).toBeUndefined();
      expect(response.text).toContain(`<html lang="${lng}">`);
      expect(headingOf(response.text)).toBe(heading);
    }
  });

  it('still serves HTTPS requests', async () => {
    await supertest(portal.app).get('/sign-in').set('X-Forwarded-Proto', 'https').expect(200);
  });

  it('warns once at start-up that it cannot redirect', async () => {
    expect(await startUpWarnings({ SSL_REQUIRED: 'true' })).toEqual([
      expect.stringMatching(/^SSL_REQUIRED is true but PORTAL_URL is empty/),
    ]);
  });
});
