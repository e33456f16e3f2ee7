import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import supertest from 'supertest';
import {
  browserAgent,
  createTestPortal,
  createUser,
  headingOf,
  signIn,
  trustLoopback,
  type TestPortal,
} from '../helpers/app.ts';
import { accountOf, editUser } from '../helpers/account.ts';
import { listen, sendRaw } from '../helpers/raw-http.ts';

let portal: TestPortal;
beforeAll(async () => {
  portal = await createTestPortal();
});
afterAll(async () => {
  await portal.close();
});

describe('languages (SPEC J5)', () => {
  it.each([
    ['en', 'Sign in'],
    ['nl', 'Aanmelden'],
    ['fr', 'Se connecter'],
  ])('serves the sign-in page in %s from ?lng=', async (lng, heading) => {
    const response = await supertest(portal.app).get(`/sign-in?lng=${lng}`).expect(200);
    expect(response.text).toContain(`<html lang="${lng}">`);
    expect(headingOf(response.text)).toBe(heading);
  });

  it('follows Accept-Language, including regional variants', async () => {
    const app = supertest(portal.app);
    const belgian = await app.get('/sign-in').set('Accept-Language', 'nl-BE,nl;q=0.9,en;q=0.5');
    expect(headingOf(belgian.text)).toBe('Aanmelden');
    const canadian = await app.get('/sign-in').set('Accept-Language', 'fr-CA');
    expect(headingOf(canadian.text)).toBe('Se connecter');
    const german = await app.get('/sign-in').set('Accept-Language', 'de-DE');
    expect(headingOf(german.text)).toBe('Sign in');
  });

  it('remembers a choice made with ?lng= in a cookie, over Accept-Language', async () => {
    const agent = browserAgent(portal);
    await agent.get('/sign-in?lng=fr').set('Accept-Language', 'nl');
    const next = await agent.get('/sign-in').set('Accept-Language', 'nl');
    expect(headingOf(next.text)).toBe('Se connecter');
    const override = await agent.get('/sign-in?lng=nl');
    expect(headingOf(override.text)).toBe('Aanmelden');
  });

  it('keeps the choice for a year from the day it is made, however long the portal has run', async () => {
    const day = 24 * 3600 * 1000;
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 200 * day);
      const response = await supertest(portal.app).get('/sign-in?lng=nl').expect(200);
      const cookies = response.headers['set-cookie'] as unknown as string[];
      const cookie = cookies.find((c) => c.startsWith('lang=nl;')) ?? '';
      const expires = Date.parse(/Expires=([^;]+)/.exec(cookie)?.[1] ?? '');
      expect(expires - Date.now()).toBeGreaterThan(364 * day);
      expect(expires - Date.now()).toBeLessThan(367 * day);
    } finally {
      vi.useRealTimers();
    }
  });

  it('ignores an unsupported ?lng= value', async () => {
    const response = await supertest(portal.app)
      .get('/sign-in?lng=xx')
      .set('Accept-Language', 'nl');
    expect(response.text).toContain('<html lang="nl">');
  });

  it('offers a language switch of plain links, each with its lang attribute, on every page', async () => {
    for (const path of ['/sign-in', '/nowhere']) {
      const response = await supertest(portal.app).get(`${path}?lng=nl`);
      expect(response.text).toContain(
        `<a href="${path}?lng=en" lang="en" hreflang="en">English</a>`,
      );
      expect(response.text).toContain(
        `<a href="${path}?lng=nl" lang="nl" hreflang="nl" aria-current="true">Nederlands</a>`,
      );
      expect(response.text).toContain(
        `<a href="${path}?lng=fr" lang="fr" hreflang="fr">Français</a>`,
      );
    }
  });

  it('translates error pages too', async () => {
    const response = await supertest(portal.app).get('/nowhere?lng=fr').expect(404);
    expect(headingOf(response.text)).toBe('Page introuvable');
  });
});

describe('the language switch of a page asked for with a path trick', () => {
  const switchLinks = (html: string) =>
    [...html.matchAll(/<a href="([^"]*)" lang="/g)].map((match) => match[1] ?? '');

  // A link that starts with // or /\ leads browsers to another site (an open redirect).
  it.each([
    ['', '//evil.example/x'],
    ['', '/\\evil.example/x'],
    ['', '/%2F%2Fevil.example/x'],
    ['', '///evil.example/x'],
    ['', '/\\/evil.example/x'],
    ['', '/./\\evil.example'],
    ['/MultiFactorAuth', '//evil.example/x'],
    ['/MultiFactorAuth', '/MultiFactorAuth//evil.example/x'],
    ['/MultiFactorAuth', '/MultiFactorAuth/\\evil.example/x'],
    ['/MultiFactorAuth', '/MultiFactorAuth/%2F%2Fevil.example/x'],
  ])('links within the portal (BASE_PATH "%s", %s)', async (basePath, path) => {
    const tricked = basePath ? await createTestPortal({ BASE_PATH: basePath }) : portal;
    const server = await listen(tricked.app);
    try {
      const response = await sendRaw(server.port, `GET ${path}?lng=nl HTTP/1.1`);
      expect(response.status).toBe(404);
      const links = switchLinks(response.body);
      expect(links).toHaveLength(3);
      for (const link of links) {
        expect(link).toMatch(new RegExp(`^${basePath}/[^/\\\\]`));
        expect(new URL(link, 'https://portal.test/').host).toBe('portal.test');
      }
    } finally {
      await server.close();
      if (tricked !== portal) await tricked.close();
    }
  });
});

describe('the language of a signed-in user (SPEC J5, S11)', () => {
  const password = 'a long enough password';
  let username = '';
  let counter = 0;
  beforeEach(async () => {
    await trustLoopback(portal);
    username = `marie${String(++counter)}`;
    await createUser(portal, username, password);
  });

  /**
   * Signed in, from a sign-in page in `lng` when given (a choice of the browser's own), else in
   * English; the first sign-in keeps that language on the account.
   */
  async function signedInAgent(lng?: string) {
    const agent = browserAgent(portal);
    if (lng) await agent.get(`/sign-in?lng=${lng}`).expect(200);
    await signIn(agent, username, password);
    return agent;
  }

  const savedLanguage = async () => (await accountOf(portal.services, username)).language;

  /** The notice's form, with the fields it would send. */
  function languageOffer(html: string) {
    const form = /<form [^>]*class="notice language-offer"[^>]*>[\s\S]*?<\/form>/.exec(html)?.[0];
    if (!form) return undefined;
    const fields = Object.fromEntries(
      [...form.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)].map(
        (match): [string, string] => [match[1] ?? '', match[2] ?? ''],
      ),
    );
    return {
      action: /action="([^"]*)"/.exec(form)?.[1],
      button: /<button[^>]*>([^<]*)<\/button>/.exec(form)?.[1],
      fields,
    };
  }

  it('a GET with ?lng=, even one sent from another site, changes nothing in the database', async () => {
    const agent = await signedInAgent();
    // Every row as stored: a write of any kind, even one no interface call shows, would differ.
    const { db } = portal.services.database;
    const snapshot = async () => ({
      users: await db.selectFrom('users').selectAll().orderBy('id').execute(),
      audit: await db.selectFrom('audit_events').selectAll().orderBy('id').execute(),
    });
    const before = await snapshot();
    const page = await agent.get('/account?lng=nl').set('Sec-Fetch-Site', 'cross-site').expect(200);
    expect(page.text).toContain('<html lang="nl">');
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    ['nl', 'Nederlands ook gebruiken voor uw telefoongesprekken, sms-berichten en e-mails', 'en'],
    ['fr', 'Utiliser aussi le français pour vos appels, SMS et e-mails', 'en'],
    ['en', 'Also use English for your calls, texts and emails', 'nl'],
  ])(
    'offers to save %s for calls, texts and emails, then returns to the page',
    async (lng, button, signedInIn) => {
      const agent = await signedInAgent(signedInIn);
      expect(await savedLanguage()).toBe(signedInIn);
      const page = await agent.get(`/account/language?lng=${lng}`).expect(200);
      const offer = languageOffer(page.text);
      expect(offer?.button).toBe(button);
      expect(offer?.action).toBe('/account/language');
      const { _csrf: token, ...fields } = offer?.fields ?? {};
      expect(token).toMatch(/^[0-9a-f]{64,}$/);
      expect(fields).toEqual({ language: lng, returnTo: '/account/language' });

      const saved = await agent
        .post(offer?.action ?? '')
        .type('form')
        .send(offer?.fields)
        .expect(303);
      expect(saved.headers.location).toBe('/account/language');
      expect(await savedLanguage()).toBe(lng);
      const again = await agent.get(`/account?lng=${lng}`).expect(200);
      expect(languageOffer(again.text)).toBeUndefined();
    },
  );

  it('shows the notice only on the page the switch led to', async () => {
    const agent = await signedInAgent();
    expect(languageOffer((await agent.get('/account?lng=fr')).text)).toBeDefined();
    expect(languageOffer((await agent.get('/account')).text)).toBeUndefined();
    expect(languageOffer((await browserAgent(portal).get('/sign-in?lng=fr')).text)).toBeUndefined();
  });

  it('returns only to a path of the portal, and refuses any other', async () => {
    const agent = await signedInAgent();
    const offer = languageOffer((await agent.get('/account?lng=fr')).text);
    for (const returnTo of [
      '//evil.example/x',
      '/\\evil.example',
      'https://evil.example/',
      'account',
      '/account?x=1',
    ]) {
      await agent
        .post('/account/language')
        .type('form')
        .send({ ...offer?.fields, returnTo })
        .expect(400);
    }
    // As the first sign-in kept it.
    expect(await savedLanguage()).toBe('en');
  });

  it('lets the browser’s own choice win, and the saved language apply where it made none', async () => {
    const user = await accountOf(portal.services, username);
    await editUser(portal.services, user.id, { language: 'fr' });

    const fresh = await signedInAgent();
    const saved = await fresh.get('/account').set('Accept-Language', 'nl').expect(200);
    expect(saved.text).toContain('<html lang="fr">');

    const chose = browserAgent(portal);
    await chose.get('/sign-in?lng=nl').expect(200);
    await signIn(chose, username, password);
    const dutch = await chose.get('/account').expect(200);
    expect(dutch.text).toContain('<html lang="nl">');
    expect(languageOffer(dutch.text)).toBeUndefined();
    expect(await savedLanguage()).toBe('fr');
  });
});
