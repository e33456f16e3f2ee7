import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { actionLinkName } from '../helpers/link-names.ts';
import type { TFunction } from 'i18next';
import { languages, type Language } from '../../src/i18n.ts';
import { changeSettings } from '../helpers/app.ts';
import { accountOf, createAppUser } from '../helpers/account.ts';
import { cliContext, userContext } from '../helpers/context.ts';
import { startE2eServer, type E2eServer } from '../helpers/journey.ts';
import { find, lynxMissing, openTextBrowser, press, type } from '../helpers/text-browser.ts';
import { appCode } from '../helpers/two-step.ts';

/*
 * SPEC L2 for J1 and J3 in the text browser lynx, driven by its own keystroke scripts: a user
 * signs in with their password and a code from the mobile app, follows My account's link to the
 * language page, chooses another language and saves it, and My account confirms it in that
 * language; another starts a one-time bypass of the seconds they choose, signs out and signs in
 * again with the password alone (M7); in English, Dutch and French. Lynx fills and sends every
 * form itself, CSRF token included; the test reads the pages as lynx showed them, and what the
 * account kept.
 */

const password = 'correct horse battery staple';
const noLynx = await lynxMissing();

/** The sign-in form: username, password, Continue. */
function passwordKeys(t: TFunction, username: string): string[] {
  return [
    ...find(t('signIn.username')),
    ...type(username),
    ...press('Down Arrow'),
    ...type(password),
    ...press('Down Arrow', '^J'),
  ];
}

/** The second step with the mobile app: the current code, Continue. */
function appCodeKeys(t: TFunction, secret: Buffer): string[] {
  return [...find(t('codes.appLabel')), ...type(appCode(secret)), ...press('Down Arrow', '^J')];
}

/** From the Save button of the language page, Up Arrow to the radio of that language. */
function upTo(language: Language): string[] {
  return Array<string>(languages.length - languages.indexOf(language)).fill('Up Arrow');
}

let server: E2eServer | undefined;

beforeAll(async () => {
  if (!noLynx) server = await startE2eServer({ RATE_LIMIT_SIGNIN_MAX: '1000' });
});
afterAll(async () => {
  await server?.stop();
});

describe.skipIf(noLynx)('Signing in and changing the language in lynx', { timeout: 60_000 }, () => {
  for (const [index, lng] of languages.entries()) {
    const chosen = languages[(index + 1) % languages.length] ?? lng;

    it(`in ${lng}, a user signs in and switches to ${chosen}`, async () => {
      if (!server) throw new Error('The portal is not running');
      const { services } = server.running;
      const t = services.i18n.getFixedT(lng);
      const tChosen = services.i18n.getFixedT(chosen);
      const username = `lynx-${lng}`;
      const secret = await createAppUser(services, username, password);
      const lynx = openTextBrowser();
      onTestFinished(() => {
        lynx.close();
      });

      await lynx.browse(`${server.baseUrl}/sign-in?lng=${lng}`, [
        ...passwordKeys(t, username),
        ...lynx.savePage('verify'),
        ...appCodeKeys(t, secret),
        ...lynx.savePage('account'),
        // The link reads "Change language" where no style sheet hides its hidden words.
        ...find(
          actionLinkName(
            t,
            'account.summary.linkName',
            t('account.summary.change'),
            t('account.summary.language'),
            lng,
          ),
        ),
        ...press('^J'),
        ...lynx.savePage('language'),
        // The radios, one per language in the portal's order, come just before Save.
        ...find(t('preferences.save')),
        ...press(...upTo(chosen), '^J'),
        ...find(t('preferences.save')),
        ...press('^J'),
        ...lynx.savePage('done'),
      ]);

      expect(lynx.pageLines('verify')).toContain(t('verify.app.title'));
      expect(lynx.pageLines('account')).toContain(t('account.title'));
      expect(lynx.pageLines('language')).toContain(t('preferences.language.title'));
      const done = lynx.pageLines('done');
      expect(done).toContain(tChosen('account.title'));
      expect(done).toContain(tChosen('account.done.language'));
      expect((await accountOf(services, username)).language).toBe(chosen);
    });
  }
});

describe.skipIf(noLynx)('A one-time bypass in lynx', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    if (server) {
      await changeSettings(server.running.services, {
        allowBypass: true,
        promptBypassSeconds: true,
      });
    }
  });

  it.each(languages)(
    'in %s, a user starts a bypass for 600 s and signs in once without the code',
    async (lng: Language) => {
      if (!server) throw new Error('The portal is not running');
      const { services } = server.running;
      const t = services.i18n.getFixedT(lng);
      const username = `lynx-bypass-${lng}`;
      const secret = await createAppUser(services, username, password);
      const lynx = openTextBrowser();
      onTestFinished(() => {
        lynx.close();
      });

      const startedAt = Date.now();
      await lynx.browse(`${server.baseUrl}/sign-in?lng=${lng}`, [
        ...passwordKeys(t, username),
        ...appCodeKeys(t, secret),
        ...find(t('account.summary.bypassStart')),
        ...press('^J'),
        ...lynx.savePage('bypass'),
        // The field holds the default, 300: ^U clears it.
        ...find(t('bypassPage.seconds.label')),
        ...press('^U'),
        ...type('600'),
        ...press('Down Arrow', '^J'),
        ...lynx.savePage('issued'),
        ...find(t('common.signOut')),
        ...press('^J'),
        ...lynx.savePage('signed-out'),
        ...passwordKeys(t, username),
        ...lynx.savePage('bypassed'),
      ]);

      expect(lynx.pageLines('bypass')).toContain(t('bypassPage.title'));
      expect(lynx.pageLines('issued')).toContain(t('account.done.bypassIssued'));
      expect(lynx.pageLines('signed-out')).toContain(t('signIn.signedOut'));
      const bypassed = lynx.pageLines('bypassed');
      expect(bypassed).toContain(t('account.title'));
      expect(bypassed).not.toContain(t('verify.app.title'));
      const user = await accountOf(services, username);
      const { bypass } = await services.mfa.account.overview(userContext(user.id), {
        userId: user.id,
      });
      expect(bypass).toBeNull();
      const [issued] = await services.mfa.administration.auditEvents(cliContext, {
        userId: user.id,
        type: 'bypass.issued',
      });
      expect(issued?.time).toBeGreaterThanOrEqual(startedAt);
      // The length of a bypass once used, as stored: no interface call shows a used one.
      const used = await services.database.db
        .selectFrom('bypasses')
        .select(['created_at', 'expires_at', 'used_at'])
        .where('user_id', '=', user.id)
        .executeTakeFirstOrThrow();
      expect(used.expires_at - used.created_at).toBe(600_000);
      expect(used.used_at).not.toBeNull();
    },
  );
});

describe.skipIf(noLynx)('The admin console in lynx (SPEC A2, L2)', { timeout: 60_000 }, () => {
  it('an administrator finds a user with a wildcard and gives them a generated PIN', async () => {
    if (!server) throw new Error('The portal is not running');
    const { services } = server.running;
    const t = services.i18n.getFixedT('en');
    const secret = await createAppUser(services, 'lynx-admin', password);
    const admin = await services.users.findByUsername('lynx-admin');
    for (const permission of ['view-users', 'reset-pin']) {
      await services.mfa.administration.grant(cliContext, {
        userId: admin?.id ?? '',
        permission,
        group: null,
      });
    }
    await services.mfa.administration.createUser(cliContext, {
      username: 'lynx-helpee',
      displayName: 'Helpee',
      email: null,
      password,
      role: 'user',
      group: 'sales',
    });
    const lynx = openTextBrowser();
    onTestFinished(() => {
      lynx.close();
    });

    await lynx.browse(`${server.baseUrl}/sign-in?lng=en`, [
      ...passwordKeys(t, 'lynx-admin'),
      ...appCodeKeys(t, secret),
      ...find(t('admin.title')),
      ...press('^J'),
      ...find(t('adminUsers.home.link')),
      ...press('^J'),
      ...lynx.savePage('search'),
      ...find(t('adminUsers.search.username')),
      ...type('lynx-h*'),
      // Down past name, email, group, phone, tag and status to Search.
      ...press(...Array<string>(7).fill('Down Arrow'), '^J'),
      ...lynx.savePage('results'),
      ...find('lynx-helpee'),
      ...press('^J'),
      ...lynx.savePage('user'),
      ...find(t('adminUsers.show.resetPin')),
      ...press('^J'),
      // The first control after the title is the "generate" radio; four more down is Submit.
      ...find(t('adminUsers.pin.generate')),
      ...press('^J', 'Down Arrow', 'Down Arrow', 'Down Arrow', 'Down Arrow', '^J'),
      ...lynx.savePage('generated'),
    ]);

    expect(lynx.pageLines('search')).toContain(t('adminUsers.search.title'));
    const results = lynx.pageLines('results').join('\n');
    expect(results).toContain('lynx-helpee');
    expect(results).not.toContain('lynx-admin');
    expect(lynx.pageLines('user')).toContain(
      t('adminUsers.show.title', { username: 'lynx-helpee' }),
    );
    const generated = lynx.pageLines('generated');
    expect(generated).toContain(t('adminUsers.pin.generatedTitle', { username: 'lynx-helpee' }));
    expect(generated.join('\n')).toMatch(/\b\d{4}\b/);
    expect((await services.users.findByUsername('lynx-helpee'))?.pin_hash).toMatch(/^\$argon2id\$/);
  });
});
